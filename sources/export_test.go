package sources

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/prefixvet/prefixvet/prefix"
)

// WriteMirror writes m's resolved data as an rbldnsd file that reloads to the
// same answers: ip4set ranges for IPv4 types, ip6trie CIDRs for IPv6 types.
// It returns the dataset type to reload it as.
func WriteMirror(m *Mirror, w io.Writer) Dataset {
	typ := DatasetIP4Set
	if m.Info().IPv6 {
		typ = DatasetIP6Trie
	}
	fmt.Fprintf(w, "$TTL %d\n", int64(m.ttl.Seconds()))
	for i, v := range m.vars {
		if v != "" {
			fmt.Fprintf(w, "$%d %s\n", i, v)
		}
	}
	if m.base != "" {
		fmt.Fprintf(w, "$= %s\n", m.base)
	}
	for iv := range m.set.All {
		an := &m.answers[iv.Payload]
		var exts []string
		if iv.From.Is4() {
			exts = []string{iv.From.String() + "-" + iv.To.String()}
		} else {
			for p := range prefix.RangeFrom(iv.From, iv.To).Prefixes() {
				exts = append(exts, fmt.Sprintf("%s/%d", ip6String(p.Addr().As16()), p.Bits()))
			}
		}
		n := max(len(an.as), len(an.txts))
		for _, e := range exts {
			for i := range n {
				a := an.as[min(i, len(an.as)-1)]
				t := ""
				if len(an.txts) > 0 {
					t = an.txts[min(i, len(an.txts)-1)]
				}
				fmt.Fprintf(w, "%s :%s:%s\n", e, a, t)
			}
		}
	}
	return typ
}

// PrefixAll is the whole address space of a's family.
func PrefixAll(v6 bool) netip.Prefix {
	if v6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

var _ = strings.Cut
