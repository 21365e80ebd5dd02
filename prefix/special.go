package prefix

import (
	"errors"
	"net/netip"
	"strings"
)

// Special is one entry of the IANA special-purpose address registries
// (RFC 6890 and its updates), or of the multicast ranges, which those
// registries leave to their own registries.
type Special struct {
	// Prefix is the registered block, e.g. 203.0.113.0/24.
	Prefix netip.Prefix
	// Name is the registry's name for it, e.g. "Documentation (TEST-NET-3)".
	Name string
	// RFC is the defining document, e.g. "RFC 5737".
	RFC string
}

// String returns the entry as "203.0.113.0/24 Documentation (TEST-NET-3), RFC 5737".
func (sp Special) String() string {
	return sp.Prefix.String() + " " + sp.Name + ", " + sp.RFC
}

// ErrSpecialPurpose is wrapped by the error of [CheckVettable] when a prefix
// overlaps special-purpose address space. Test for it with [errors.Is].
var ErrSpecialPurpose = errors.New("prefix: special-purpose address space")

// SpecialPurpose returns the special-purpose registry entries that overlap p,
// in ascending address order (a block before the entries nested in it), or
// nil if there are none. Overlap goes both ways: 203.0.113.128/25 lies in
// 203.0.113.0/24, and 192.0.0.0/8 and 0.0.0.0/0 contain special blocks, so
// all of them are reported. p is masked first; an invalid p gives nil.
//
// The table covers the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (private-use, shared CGNAT space, loopback, link-local,
// documentation, benchmarking, IETF protocol assignments, AS112, AMT, 6to4,
// Teredo, ORCHIDv2, NAT64 prefixes, unique-local, 240.0.0.0/4, the limited
// broadcast address, and others) plus the IPv4 and IPv6 multicast blocks.
// IPv4-mapped IPv6 addresses fall in ::ffff:0:0/96; they are not unmapped.
// The returned slice is the caller's to keep.
func SpecialPurpose(p netip.Prefix) []Special {
	if !p.IsValid() {
		return nil
	}
	p = p.Masked()
	var out []Special
	for _, sp := range specialTable() {
		if sp.Prefix.Overlaps(p) {
			out = append(out, sp)
		}
	}
	return out
}

// CheckVettable returns nil if p may be vetted, that is if p overlaps no
// special-purpose block (see [SpecialPurpose]). Otherwise it returns an error
// that wraps [ErrSpecialPurpose] and names every overlapping block:
//
//	203.0.113.0/24 is special-purpose space: 203.0.113.0/24 Documentation (TEST-NET-3), RFC 5737
//
// Note that a prefix that merely contains a special block is refused too:
// 0.0.0.0/0, 192.0.0.0/8 or 2001::/16 cannot be vetted as a whole; vet
// their public parts instead. For an invalid p it returns an error that does
// not wrap ErrSpecialPurpose. Tests and demos that deliberately vet
// documentation space skip this check; that is the explicit allowance.
func CheckVettable(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("prefix.CheckVettable: invalid prefix")
	}
	p = p.Masked()
	if sp := SpecialPurpose(p); len(sp) > 0 {
		return &specialError{p: p, entries: sp}
	}
	return nil
}

// specialError is the error of CheckVettable.
type specialError struct {
	p       netip.Prefix
	entries []Special
}

func (e *specialError) Error() string {
	var b strings.Builder
	b.WriteString(e.p.String())
	b.WriteString(" is special-purpose space: ")
	for i, sp := range e.entries {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(sp.String())
	}
	return b.String()
}

func (e *specialError) Unwrap() error { return ErrSpecialPurpose }

func v4(a, b, c, d byte, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
}

// v6 builds an IPv6 prefix from up to eight leading 16-bit groups.
func v6(bits int, groups ...uint16) netip.Prefix {
	var b [16]byte
	for i, g := range groups {
		b[2*i], b[2*i+1] = byte(g>>8), byte(g)
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}

// specialTable returns a fresh copy of the registry, in ascending order of
// address and, for equal addresses, of prefix length. It is a function so
// that the package holds no mutable state. Sources: IANA IPv4 and IPv6
// Special-Purpose Address Registries, IPv4 Multicast Address Space Registry
// (RFC 5771) and IPv6 addressing architecture (RFC 4291).
func specialTable() []Special {
	return []Special{
		{v4(0, 0, 0, 0, 8), "This network", "RFC 791"},
		{v4(0, 0, 0, 0, 32), "This host on this network", "RFC 1122"},
		{v4(10, 0, 0, 0, 8), "Private-Use", "RFC 1918"},
		{v4(100, 64, 0, 0, 10), "Shared Address Space", "RFC 6598"},
		{v4(127, 0, 0, 0, 8), "Loopback", "RFC 1122"},
		{v4(169, 254, 0, 0, 16), "Link Local", "RFC 3927"},
		{v4(172, 16, 0, 0, 12), "Private-Use", "RFC 1918"},
		{v4(192, 0, 0, 0, 24), "IETF Protocol Assignments", "RFC 6890"},
		{v4(192, 0, 0, 0, 29), "IPv4 Service Continuity Prefix", "RFC 7335"},
		{v4(192, 0, 0, 8, 32), "IPv4 dummy address", "RFC 7600"},
		{v4(192, 0, 0, 9, 32), "Port Control Protocol Anycast", "RFC 7723"},
		{v4(192, 0, 0, 10, 32), "Traversal Using Relays around NAT Anycast", "RFC 8155"},
		{v4(192, 0, 0, 170, 32), "NAT64/DNS64 Discovery", "RFC 8880"},
		{v4(192, 0, 0, 171, 32), "NAT64/DNS64 Discovery", "RFC 8880"},
		{v4(192, 0, 2, 0, 24), "Documentation (TEST-NET-1)", "RFC 5737"},
		{v4(192, 31, 196, 0, 24), "AS112-v4", "RFC 7535"},
		{v4(192, 52, 193, 0, 24), "AMT", "RFC 7450"},
		{v4(192, 88, 99, 0, 24), "Deprecated (6to4 Relay Anycast)", "RFC 7526"},
		{v4(192, 168, 0, 0, 16), "Private-Use", "RFC 1918"},
		{v4(192, 175, 48, 0, 24), "Direct Delegation AS112 Service", "RFC 7534"},
		{v4(198, 18, 0, 0, 15), "Benchmarking", "RFC 2544"},
		{v4(198, 51, 100, 0, 24), "Documentation (TEST-NET-2)", "RFC 5737"},
		{v4(203, 0, 113, 0, 24), "Documentation (TEST-NET-3)", "RFC 5737"},
		{v4(224, 0, 0, 0, 4), "Multicast", "RFC 5771"},
		{v4(240, 0, 0, 0, 4), "Reserved", "RFC 1112"},
		{v4(255, 255, 255, 255, 32), "Limited Broadcast", "RFC 919"},

		{v6(128), "Unspecified Address", "RFC 4291"},
		{v6(128, 0, 0, 0, 0, 0, 0, 0, 1), "Loopback Address", "RFC 4291"},
		{v6(96, 0, 0, 0, 0, 0, 0xffff), "IPv4-mapped Address", "RFC 4291"},
		{v6(96, 0x64, 0xff9b), "IPv4-IPv6 Translation", "RFC 6052"},
		{v6(48, 0x64, 0xff9b, 1), "IPv4-IPv6 Translation (local-use)", "RFC 8215"},
		{v6(64, 0x100), "Discard-Only Address Block", "RFC 6666"},
		{v6(23, 0x2001), "IETF Protocol Assignments", "RFC 2928"},
		{v6(32, 0x2001), "TEREDO", "RFC 4380"},
		{v6(128, 0x2001, 1, 0, 0, 0, 0, 0, 1), "Port Control Protocol Anycast", "RFC 7723"},
		{v6(128, 0x2001, 1, 0, 0, 0, 0, 0, 2), "Traversal Using Relays around NAT Anycast", "RFC 8155"},
		{v6(128, 0x2001, 1, 0, 0, 0, 0, 0, 3), "DNS-SD Service Registration Protocol Anycast", "RFC 9665"},
		{v6(48, 0x2001, 2, 0), "Benchmarking", "RFC 5180"},
		{v6(32, 0x2001, 3), "AMT", "RFC 7450"},
		{v6(48, 0x2001, 4, 0x112), "AS112-v6", "RFC 7535"},
		{v6(28, 0x2001, 0x10), "Deprecated (previously ORCHID)", "RFC 4843"},
		{v6(28, 0x2001, 0x20), "ORCHIDv2", "RFC 7343"},
		{v6(28, 0x2001, 0x30), "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374"},
		{v6(32, 0x2001, 0xdb8), "Documentation", "RFC 3849"},
		{v6(16, 0x2002), "6to4", "RFC 3056"},
		{v6(48, 0x2620, 0x4f, 0x8000), "Direct Delegation AS112 Service", "RFC 7534"},
		{v6(20, 0x3fff), "Documentation", "RFC 9637"},
		{v6(16, 0x5f00), "Segment Routing (SRv6) SIDs", "RFC 9602"},
		{v6(7, 0xfc00), "Unique-Local", "RFC 4193"},
		{v6(10, 0xfe80), "Link-Local Unicast", "RFC 4291"},
		{v6(8, 0xff00), "Multicast", "RFC 4291"},
	}
}
