package sources_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func ExampleReadList() {
	const drop = `{"cidr":"192.0.2.0/24","sblid":"SBL000001","rir":"arin"}
{"cidr":"2001:db8::\/32","sblid":"SBL000002","rir":"ripencc"}
{"type":"metadata","timestamp":1790072042,"records":2,"copyright":"(c) 2026 The Spamhaus Project SLU"}
`
	l, err := sources.ReadList(strings.NewReader(drop), sources.FeedConfig{Name: "spamhaus-drop"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Name(), l.Format(), l.Len(), l.Meta().Copyright)

	ctx := context.Background()
	lst, _ := l.Lookup(ctx, netip.MustParseAddr("192.0.2.7"))
	fmt.Println(lst.Listed, lst.Evidence[0].Category, lst.Evidence[0].Severity, lst.Evidence[0].ID, lst.Reason)

	// A /26 inside the listed /24 is covered by the whole /24.
	ms, _ := l.LookupPrefix(ctx, netip.MustParsePrefix("192.0.2.64/26"))
	for _, m := range ms {
		fmt.Println(m.Prefix, m.Evidence[0].ID)
	}
	// Output:
	// spamhaus-drop drop 2 (c) 2026 The Spamhaus Project SLU
	// true hijacked critical SBL000001 SBL000001 (arin)
	// 192.0.2.0/24 SBL000001
}

func ExampleReadList_malformed() {
	const netset = `# a FireHOL-style netset
198.51.100.0/24
203.0.113.5        # one address
203.0.113.10-203.0.113.20
not-an-address
`
	l, err := sources.ReadList(strings.NewReader(netset), sources.FeedConfig{Name: "example-netset"})
	fmt.Println(l.Format(), l.Len())
	fmt.Println(err)
	ms, _ := l.LookupPrefix(context.Background(), netip.MustParsePrefix("203.0.113.0/24"))
	for _, m := range ms {
		fmt.Println(m.Prefix, m.Evidence[0].Scope)
	}
	// Output:
	// plain 3
	// sources: example-netset line 5: syntax error: ParseAddr("not"): unable to parse IP: "not-an-address"
	// 203.0.113.5/32 address
	// 203.0.113.10/31 range
	// 203.0.113.12/30 range
	// 203.0.113.16/30 range
	// 203.0.113.20/32 range
}

func ExampleReadMirror() {
	const zone = `$TTL 1h
:127.0.0.2:Listed, see https://example.org/lookup?$
192.0.2.0/24
!192.0.2.5
192.0.2.7 :127.0.0.3:Open proxy $
`
	zi := sources.ZoneInfo{Zone: "bl.example.org", Codes: []sources.Code{
		{Addr: netip.MustParseAddr("127.0.0.2"), Category: "spam", Severity: reputation.SeverityHigh},
		{Addr: netip.MustParseAddr("127.0.0.3"), Category: "proxy", Severity: reputation.SeverityMedium},
	}}
	m, err := sources.ReadMirror(strings.NewReader(zone), sources.MirrorConfig{Type: sources.DatasetIP4Set, Zone: zi})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, a := range []string{"192.0.2.1", "192.0.2.5", "192.0.2.7"} {
		lst, _ := m.Lookup(ctx, netip.MustParseAddr(a))
		if !lst.Listed {
			fmt.Println(a, "not listed")
			continue
		}
		fmt.Println(a, lst.Evidence[0].Code, lst.Evidence[0].Category, lst.TTL, lst.Reason)
	}
	ms, _ := m.LookupPrefix(ctx, netip.MustParsePrefix("192.0.2.0/29"))
	for _, x := range ms {
		fmt.Println(x.Prefix, x.Evidence[0].Category)
	}
	// Output:
	// 192.0.2.1 127.0.0.2 spam 1h0m0s Listed, see https://example.org/lookup?192.0.2.1
	// 192.0.2.5 not listed
	// 192.0.2.7 127.0.0.3 proxy 1h0m0s Open proxy 192.0.2.7
	// 192.0.2.0/30 spam
	// 192.0.2.4/32 spam
	// 192.0.2.6/32 spam
	// 192.0.2.7/32 proxy
}
