package dnsclient

import (
	"encoding/binary"
	"net"

	"github.com/miekg/dns"
)

// unpack parses an answer packet. The common shapes of DNSBL answers (a few
// A records; NXDOMAIN or NODATA with a SOA) go through decodeSimple, which
// makes one allocation where miekg's Msg.Unpack makes eight; every other
// packet, and every packet decodeSimple is unsure of, goes through
// Msg.Unpack. Both give the same message (FuzzDecodeSimple checks it).
//
// qname is the name of the question asked: the answer's copy of it is
// qname itself when equal byte for byte. names keeps other names met
// (the SOA's), for the next call to reuse; it belongs to one goroutine.
func unpack(pkt []byte, qname string, names *nameCache) (*dns.Msg, error) {
	if m := decodeSimple(pkt, qname, names); m != nil {
		return m, nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(pkt); err != nil {
		return nil, err
	}
	return m, nil
}

// nameCache holds the last names decodeSimple met other than the
// question's, to share their strings across messages.
// Four hold a SOA record's owner, server and mailbox.
type nameCache [4]string

// simpleMsg is a message decodeSimple fills, allocated at once but for its
// A records: the most common answer of a DNSBL, NXDOMAIN with the zone's
// SOA, then takes 320 bytes instead of 552, less for the collector to
// scan and for the process to fault in on every answer.
type simpleMsg struct {
	m   dns.Msg
	q   [1]dns.Question
	rrs [simpleRRs]dns.RR
	soa dns.SOA
	a   *simpleAs // allocated at the first A record
}

// simpleAs holds the A records of a simpleMsg.
type simpleAs struct {
	a  [simpleRRs]dns.A
	ip [simpleRRs][net.IPv4len]byte
}

// simpleRRs bounds the records decodeSimple takes in all.
const simpleRRs = 4

// decodeSimple parses pkt if it is a message of one question, with at most
// simpleRRs records in the answer and authority sections together, A
// records and at most one SOA, no additional records, names made of
// letters, digits, '-' and '_' only, and no byte after the last record; nil
// otherwise (and then Msg.Unpack decides).
func decodeSimple(pkt []byte, qname string, names *nameCache) *dns.Msg {
	if len(pkt) < headerLen {
		return nil
	}
	qd := binary.BigEndian.Uint16(pkt[4:])
	an := int(binary.BigEndian.Uint16(pkt[6:]))
	ns := int(binary.BigEndian.Uint16(pkt[8:]))
	ar := binary.BigEndian.Uint16(pkt[10:])
	if qd != 1 || ar != 0 || an+ns > simpleRRs {
		return nil
	}
	s := new(simpleMsg)
	d := simpleDecoder{pkt: pkt, qname: qname, names: names}
	name, off, ok := d.name(headerLen)
	if !ok || off+4 > len(pkt) {
		return nil
	}
	d.qname, d.qnameOK = name, true
	m := &s.m
	bits := binary.BigEndian.Uint16(pkt[2:])
	m.Id = binary.BigEndian.Uint16(pkt)
	m.Response = bits&(1<<15) != 0
	m.Opcode = int(bits>>11) & 0xF
	m.Authoritative = bits&(1<<10) != 0
	m.Truncated = bits&(1<<9) != 0
	m.RecursionDesired = bits&(1<<8) != 0
	m.RecursionAvailable = bits&(1<<7) != 0
	m.Zero = bits&(1<<6) != 0
	m.AuthenticatedData = bits&(1<<5) != 0
	m.CheckingDisabled = bits&(1<<4) != 0
	m.Rcode = int(bits & 0xF)
	s.q[0] = dns.Question{
		Name:   name,
		Qtype:  binary.BigEndian.Uint16(pkt[off:]),
		Qclass: binary.BigEndian.Uint16(pkt[off+2:]),
	}
	m.Question = s.q[:]
	off += 4
	soaUsed := false
	for i := range an + ns {
		if off, ok = d.record(s, i, off, &soaUsed); !ok {
			return nil
		}
	}
	if off != len(pkt) {
		return nil
	}
	// Msg.Unpack leaves an empty section nil.
	if an > 0 {
		m.Answer = s.rrs[:an:an]
	}
	if ns > 0 {
		m.Ns = s.rrs[an : an+ns : an+ns]
	}
	return m
}

type simpleDecoder struct {
	pkt     []byte
	qname   string // the question's name as asked; once decoded, as read
	qnameOK bool   // qname is the name read at headerLen
	names   *nameCache
}

// record decodes the record at off into s.rrs[i] and returns the offset
// after it.
func (d *simpleDecoder) record(s *simpleMsg, i, off int, soaUsed *bool) (int, bool) {
	name, o, ok := d.name(off)
	if !ok || o+10 > len(d.pkt) {
		return 0, false
	}
	h := dns.RR_Header{
		Name:     name,
		Rrtype:   binary.BigEndian.Uint16(d.pkt[o:]),
		Class:    binary.BigEndian.Uint16(d.pkt[o+2:]),
		Ttl:      binary.BigEndian.Uint32(d.pkt[o+4:]),
		Rdlength: binary.BigEndian.Uint16(d.pkt[o+8:]),
	}
	o += 10
	end := o + int(h.Rdlength)
	if end > len(d.pkt) {
		return 0, false
	}
	switch {
	case h.Rrtype == dns.TypeA && h.Rdlength == net.IPv4len:
		if s.a == nil {
			s.a = new(simpleAs)
		}
		copy(s.a.ip[i][:], d.pkt[o:end])
		s.a.a[i] = dns.A{Hdr: h, A: s.a.ip[i][:]}
		s.rrs[i] = &s.a.a[i]
	case h.Rrtype == dns.TypeSOA && h.Rdlength > 0 && !*soaUsed:
		*soaUsed = true
		rr := &s.soa
		rr.Hdr = h
		if rr.Ns, o, ok = d.name(o); !ok {
			return 0, false
		}
		if rr.Mbox, o, ok = d.name(o); !ok {
			return 0, false
		}
		if o+20 != end {
			return 0, false
		}
		rr.Serial = binary.BigEndian.Uint32(d.pkt[o:])
		rr.Refresh = binary.BigEndian.Uint32(d.pkt[o+4:])
		rr.Retry = binary.BigEndian.Uint32(d.pkt[o+8:])
		rr.Expire = binary.BigEndian.Uint32(d.pkt[o+12:])
		rr.Minttl = binary.BigEndian.Uint32(d.pkt[o+16:])
		s.rrs[i] = rr
	default:
		return 0, false
	}
	return end, true
}

// name decodes the domain name at off and returns it with the offset after
// it (after the first pointer, if any). It accepts only names of at most
// 255 octets on the wire (as Msg.Unpack) whose labels hold letters, digits,
// '-' and '_' (which miekg/dns writes unescaped), with at most 8 pointers,
// each to an earlier offset. A name equal to the question's or to one in
// d.names reuses its string.
func (d *simpleDecoder) name(off int) (string, int, bool) {
	pkt := d.pkt
	if d.qnameOK && off+2 <= len(pkt) && pkt[off] == 0xC0 && pkt[off+1] == headerLen {
		return d.qname, off + 2, true
	}
	var buf [256]byte
	n := 0
	end := -1 // offset after the name in place, once a pointer is followed
	wire := 0
	ptrs := 0
	for {
		if off >= len(pkt) {
			return "", 0, false
		}
		c := int(pkt[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				if wire+1 > 255 {
					return "", 0, false
				}
				if n == 0 {
					return ".", end, true
				}
				return d.intern(buf[:n]), end, true
			}
			if off+1+c > len(pkt) {
				return "", 0, false
			}
			wire += 1 + c
			if wire > 255 {
				return "", 0, false
			}
			for _, b := range pkt[off+1 : off+1+c] {
				if !simpleLabelByte(b) {
					return "", 0, false
				}
			}
			n += copy(buf[n:], pkt[off+1:off+1+c])
			buf[n] = '.'
			n++
			off += 1 + c
		case 0xC0:
			if off+2 > len(pkt) {
				return "", 0, false
			}
			ptrs++
			if ptrs > 8 {
				return "", 0, false
			}
			p := int(binary.BigEndian.Uint16(pkt[off:]) & 0x3FFF)
			if p >= off {
				return "", 0, false
			}
			if end < 0 {
				end = off + 2
			}
			off = p
		default:
			return "", 0, false
		}
	}
}

// intern returns b as a string, reusing an equal string known already.
func (d *simpleDecoder) intern(b []byte) string {
	if string(b) == d.qname {
		return d.qname
	}
	if d.names == nil {
		return string(b)
	}
	for _, s := range d.names {
		if string(b) == s {
			return s
		}
	}
	s := string(b)
	copy(d.names[1:], d.names[:])
	d.names[0] = s
	return s
}

func simpleLabelByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}
