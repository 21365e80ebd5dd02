package dnsclient

import (
	"encoding/binary"
	"fmt"

	"github.com/miekg/dns"
)

const headerLen = 12

// maxQueryLen is the size of a query packet for the longest name (255
// octets on the wire).
const maxQueryLen = headerLen + 255 + 4

// newQuery returns a query packet (ID 0, RD set) for the question (name,
// qtype, class IN); the question's wire form, used to match answers, is
// pkt[headerLen:].
func newQuery(name string, qtype uint16) ([]byte, error) {
	return packQuery(make([]byte, headerLen+len(name)+2+4), name, qtype)
}

// packQuery is newQuery writing into buf, which must hold
// headerLen+len(name)+6 bytes, or maxQueryLen (any valid name fits).
func packQuery(buf []byte, name string, qtype uint16) ([]byte, error) {
	pkt := buf
	clear(pkt[:headerLen])
	n, err := dns.PackDomainName(name, pkt, headerLen, nil, false)
	if err != nil {
		return nil, fmt.Errorf("dnsclient: bad name %q: %w", name, err)
	}
	pkt = pkt[:n+4]
	pkt[2] = 0x01 // RD
	binary.BigEndian.PutUint16(pkt[4:], 1)
	binary.BigEndian.PutUint16(pkt[n:], qtype)
	binary.BigEndian.PutUint16(pkt[n+2:], dns.ClassINET)
	return pkt, nil
}

// matchResponse reports whether resp is a response (QR set, opcode QUERY,
// exactly one question) whose question equals q, the wire question of the
// query: the name compared case-insensitively label by label, type and class
// byte for byte. The ID is checked by the caller. A compression pointer in
// the question never matches: nothing precedes it that it could point to.
func matchResponse(q, resp []byte) bool {
	if len(resp) < headerLen+len(q) || len(q) < 5 {
		return false
	}
	if resp[2]&0x80 == 0 || (resp[2]>>3)&0x0f != dns.OpcodeQuery {
		return false
	}
	if binary.BigEndian.Uint16(resp[4:]) != 1 {
		return false
	}
	rq := resp[headerLen : headerLen+len(q)]
	nameLen := len(q) - 4
	// Length bytes of q are at most 63, so folding 'A'..'Z' never makes a
	// length byte equal to a letter: a byte-wise fold compares labels.
	for i := range nameLen {
		a, b := rq[i], q[i]
		if a != b && lower(a) != lower(b) {
			return false
		}
	}
	return string(rq[nameLen:]) == string(q[nameLen:])
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
