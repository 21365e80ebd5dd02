package prefix

import "net/netip"

// AppendQueryName appends to dst the DNSBL query name for a in zone, as
// RFC 5782 section 2.1 defines it, and returns the extended buffer:
//
//   - IPv4: the four octets in reverse order, in decimal:
//     192.0.2.99 in bl.example.org is "99.2.0.192.bl.example.org";
//   - IPv6: the 32 nibbles of the address in reverse order, in lower-case
//     hexadecimal: 2001:db8::1 gives "1.0.0.0. … .8.b.d.0.1.0.0.2." and then
//     the zone.
//
// The label part is followed by "." and then zone verbatim, so a zone that
// ends in "." gives a fully qualified name; an empty zone leaves the name
// ending in ".". An IPv4-mapped IPv6 address such as ::ffff:127.0.0.2 is an
// IPv6 query with 32 nibbles, as in RFC 5782's IPv6 test point; it is never
// unmapped (callers that want the IPv4 query unmap first with
// [netip.Addr.Unmap]). a's zone, if any, is ignored. An invalid a appends
// nothing and returns dst unchanged.
//
// AppendQueryName does not allocate when dst has room: 16+len(zone) bytes for
// IPv4, 64+len(zone) for IPv6.
func AppendQueryName(dst []byte, a netip.Addr, zone string) []byte {
	switch {
	case a.Is4():
		b := a.As4()
		for i := 3; i >= 0; i-- {
			dst = appendOctet(dst, b[i])
		}
	case a.Is6():
		const hex = "0123456789abcdef"
		b := a.As16()
		for i := 15; i >= 0; i-- {
			dst = append(dst, hex[b[i]&0xf], '.', hex[b[i]>>4], '.')
		}
	default:
		return dst
	}
	return append(dst, zone...)
}

// appendOctet appends v in decimal followed by ".".
func appendOctet(dst []byte, v byte) []byte {
	switch {
	case v >= 100:
		return append(dst, '0'+v/100, '0'+v/10%10, '0'+v%10, '.')
	case v >= 10:
		return append(dst, '0'+v/10, '0'+v%10, '.')
	}
	return append(dst, '0'+v, '.')
}
