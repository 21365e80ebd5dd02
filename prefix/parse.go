package prefix

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/seancfoley/ipaddress-go/ipaddr"
	"github.com/seancfoley/ipaddress-go/ipaddr/addrerr"
	"github.com/seancfoley/ipaddress-go/ipaddr/addrstrparam"
)

// parseError is the error of [Parse]. Its text names the function and quotes
// the input, like the errors of net/netip; nobody needs to branch on it.
type parseError struct {
	in  string // the input as given
	msg string // why it was refused, with a hint where one helps
}

func (e *parseError) Error() string {
	return "prefix.Parse(" + strconv.Quote(e.in) + "): " + e.msg
}

// Parse parses s as a Range. It accepts, with surrounding white space
// ignored:
//
//   - a CIDR prefix: "203.0.113.0/24", "2001:db8::/32";
//   - a single address: "203.0.113.7", "2001:db8::1";
//   - an inclusive range of two addresses: "203.0.113.10-203.0.113.20"
//     (spaces around "-" are allowed);
//   - a prefix with a netmask: "203.0.113.0/255.255.255.0";
//   - IPv6 in any standard notation, including leading zeros, the
//     uncompressed form and embedded IPv4 ("::ffff:192.0.2.1",
//     "64:ff9b::192.0.2.0/120");
//   - a per-segment range or wildcard that is contiguous: "203.0.113.0-127",
//     "203.0.113.*".
//
// The lenient parsing is done by github.com/seancfoley/ipaddress-go, which
// stays an implementation detail.
//
// Parse refuses, with an error that says what to fix:
//
//   - empty input;
//   - a prefix with host bits set ("203.0.113.5/24"): the error names the
//     masked prefix, 203.0.113.0/24, so a typo does not silently widen or
//     shift the block;
//   - a range whose end precedes its start, or whose ends are of different
//     families (an IPv4-mapped IPv6 address counts as IPv6);
//   - a netmask that is not contiguous;
//   - forms whose meaning is ambiguous: IPv4 with leading zeros
//     ("010.1.2.3" is 8.1.2.3 to inet_aton), inet_aton shorthand ("10.1"),
//     hexadecimal octets, a bare number, "*", and IPv6 zones ("fe80::1%eth0");
//   - anything else that is not an address, prefix or range.
//
// Parse does not refuse special-purpose space such as 192.0.2.0/24; use
// [CheckVettable] for that.
func Parse(s string) (Range, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{}, &parseError{in, "empty input; want an address, CIDR prefix or range such as 203.0.113.0/24"}
	}
	if strings.ContainsRune(s, '%') {
		return Range{}, &parseError{in, "IPv6 zones (\"%eth0\") have no place in a prefix; remove the zone"}
	}
	// A range of two full addresses, "a-b". ipaddress-go only reads ranges
	// within a segment ("203.0.113.0-255"), so split here first and fall back
	// to ipaddress-go for the rest.
	i := strings.IndexByte(s, '-')
	if i < 0 || strings.Count(s, "-") > 1 {
		return parseLenient(in, s)
	}
	left, right := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	switch {
	case left == "":
		return Range{}, &parseError{in, "range has no start; want from-to such as 203.0.113.10-203.0.113.20"}
	case right == "":
		return Range{}, &parseError{in, "range has no end; want from-to such as 203.0.113.10-203.0.113.20"}
	}
	from, errL := parseAddr(left)
	to, errR := parseAddr(right)
	if errL == nil && errR == nil {
		if from.BitLen() != to.BitLen() {
			return Range{}, &parseError{in, "range mixes IPv4 and IPv6: " + from.String() + " and " + to.String() + " are of different families"}
		}
		if to.Less(from) {
			return Range{}, &parseError{in, "range end " + to.String() + " precedes its start " + from.String() + "; did you mean " + Range{to, from}.String() + "?"}
		}
		return Range{from, to}, nil
	}
	// Not two full addresses: it may still be a range within a segment
	// ("203.0.113.0-127"), which ipaddress-go reads.
	r, err := parseLenient(in, s)
	switch {
	case err == nil:
		return r, nil
	case errL == nil && looksLikeAddr(right):
		return Range{}, &parseError{in, "range end " + strconv.Quote(right) + " is not an IP address: " + errR.Error()}
	case errR == nil && looksLikeAddr(left):
		return Range{}, &parseError{in, "range start " + strconv.Quote(left) + " is not an IP address: " + errL.Error()}
	}
	return Range{}, err
}

// MustParse calls [Parse] and panics if it returns an error. It is meant for
// tests and for values written in code.
func MustParse(s string) Range {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// parseParams returns the ipaddress-go parsing rules for Parse. It is a
// function, not a package variable, so the package holds no state.
func parseParams() addrstrparam.IPAddressStringParams {
	b := new(addrstrparam.IPAddressStringParamsBuilder)
	b.AllowEmpty(false)
	b.AllowAll(false)
	b.AllowSingleSegment(false)
	b.Allow_inet_aton(false)
	b.AllowWildcardedSeparator(false)
	b.AllowPrefix(true)
	b.AllowMask(true)
	v4 := b.GetIPv4AddressParamsBuilder()
	v4.AllowLeadingZeros(false)
	v4.AllowBinary(false)
	v4.AllowPrefixesBeyondAddressSize(false)
	v4.GetRangeParamsBuilder().AllowReverseRange(false).AllowInferredBoundary(false)
	v6 := b.GetIPv6AddressParamsBuilder()
	v6.AllowUnlimitedLeadingZeros(false)
	v6.AllowZone(false)
	v6.AllowEmptyZone(false)
	v6.AllowBase85(false)
	v6.AllowBinary(false)
	v6.AllowPrefixesBeyondAddressSize(false)
	v6.GetRangeParamsBuilder().AllowReverseRange(false).AllowInferredBoundary(false)
	e4 := v6.GetEmbeddedIPv4AddressParamsBuilder()
	e4.Allow_inet_aton(false)
	e4.AllowLeadingZeros(false)
	return b.ToParams()
}

// addrOnlyParams returns the rules for one end of an "a-b" range: a single
// address, no prefix, no mask, no segment ranges.
func addrOnlyParams() addrstrparam.IPAddressStringParams {
	b := new(addrstrparam.IPAddressStringParamsBuilder).Set(parseParams())
	b.AllowPrefix(false)
	b.AllowMask(false)
	b.GetIPv4AddressParamsBuilder().GetRangeParamsBuilder().AllowWildcard(false).AllowRangeSeparator(false).AllowSingleWildcard(false)
	b.GetIPv6AddressParamsBuilder().GetRangeParamsBuilder().AllowWildcard(false).AllowRangeSeparator(false).AllowSingleWildcard(false)
	return b.ToParams()
}

// parseAddr parses one end of an "a-b" range.
func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, errors.New("empty")
	}
	as := ipaddr.NewIPAddressStringParams(s, addrOnlyParams())
	a, err := as.ToAddress()
	if err != nil {
		return netip.Addr{}, errors.New(reason(err))
	}
	if a.IsMultiple() {
		return netip.Addr{}, errors.New("not a single address")
	}
	return a.GetNetNetIPAddr(), nil
}

// parseLenient parses everything but "a-b" ranges with ipaddress-go.
func parseLenient(in, s string) (Range, error) {
	as := ipaddr.NewIPAddressStringParams(s, parseParams())
	if err := as.Validate(); err != nil {
		return Range{}, &parseError{in, "not an IP address, CIDR prefix or range: " + reason(err)}
	}
	a := as.GetAddress()
	if a == nil {
		return Range{}, &parseError{in, "not an IP address, CIDR prefix or range"}
	}
	if !a.IsSequential() {
		return Range{}, &parseError{in, "segment ranges do not form one contiguous range; write it as from-to or as separate prefixes"}
	}
	from, to := a.GetNetNetIPAddr(), a.GetUpperNetNetIPAddr()
	if !from.IsValid() || !to.IsValid() {
		return Range{}, &parseError{in, "not an IP address, CIDR prefix or range"}
	}
	if !as.IsPrefixed() {
		if m := as.GetMask(); m != nil {
			return Range{}, &parseError{in, "netmask " + m.String() + " is not contiguous; use a prefix length such as /24"}
		}
		return Range{from, to}, nil
	}
	bits := as.GetNetworkPrefixLen().Len()
	want := netip.PrefixFrom(from, bits).Masked()
	got := Range{from, to}
	if got == RangeOf(want) {
		return got, nil
	}
	if from == to {
		return Range{}, &parseError{in, "host bits set; did you mean " + want.String() + "?"}
	}
	return Range{}, &parseError{in, "prefix length /" + strconv.Itoa(bits) + " does not match the address range " + got.String()}
}

// looksLikeAddr reports whether s is plausibly meant as a whole address
// rather than as the upper end of a segment range ("203.0.113.0-127").
func looksLikeAddr(s string) bool { return strings.ContainsAny(s, ".:") }

// reason extracts ipaddress-go's explanation without its repeated
// "<input> IP Address error:" preamble.
func reason(err error) string {
	var ae addrerr.AddressError
	if errors.As(err, &ae) && ae.GetKey() == "ipaddress.error.segment.leading.zeros" {
		return "leading zeros and hexadecimal octets are ambiguous (inet_aton reads 010 as 8 and 0x10 as 16); write plain decimal"
	}
	msg := err.Error()
	const marker = "error: "
	if i := strings.LastIndex(msg, marker); i >= 0 {
		msg = msg[i+len(marker):]
	}
	return msg
}
