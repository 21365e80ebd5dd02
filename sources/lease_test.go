package sources_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

// leaseSources returns every lease-check source over small files, plus a
// blocklist feed that lists nothing in the blocks asked about, with the
// lessee's AS 64500 expected.
func leaseSources(t *testing.T) []reputation.Source {
	t.Helper()
	feed, err := sources.ReadList(strings.NewReader("198.18.99.0/24\n"), sources.FeedConfig{Name: "blocklist"})
	if err != nil {
		t.Fatal(err)
	}
	vrps, err := sources.ReadVRPs(strings.NewReader(`ASN,IP Prefix,Max Length,Trust Anchor
AS64500,192.0.2.0/24,24,ripe
AS0,203.0.113.240/28,28,apnic
AS64500,203.0.113.0/24,24,ripe
AS64500,2001:db8::/32,48,ripe
AS0,2001:db8:dead::/48,48,ripe
`), sources.VRPConfig{ExpectOrigin: 64500})
	if err != nil {
		t.Fatal(err)
	}
	rir, err := sources.ReadRIRStats(strings.NewReader(`2|ripencc|20261129|5|19830705|20261128|+0100
ripencc|NL|ipv4|192.0.2.0|256|20100101|allocated|abc
ripencc|NL|ipv4|203.0.113.0|256|20100101|allocated|abc
ripencc||ipv4|198.51.100.0|16||available
ripencc|NL|ipv4|198.51.100.16|240|20100101|allocated|abc
ripencc|NL|ipv6|2001:db8::|32|20100101|allocated|abc
`), sources.RIRStatsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	origins, err := sources.ReadOrigins(strings.NewReader("192.0.2.0\t24\t64500\n198.18.0.0\t24\t64666\n198.18.1.0\t24\t64501\n2001:db8::\t32\t64500\n"), sources.OriginsConfig{ExpectOrigin: 64500})
	if err != nil {
		t.Fatal(err)
	}
	drop, err := sources.ReadASNDrop(strings.NewReader(`{"asn":64666,"rir":"ripencc","domain":"bad.example.org","cc":"NL","asname":"BAD-AS"}`+"\n"), sources.ASNDropConfig{Routes: origins})
	if err != nil {
		t.Fatal(err)
	}
	return []reputation.Source{feed, vrps, rir, origins, drop}
}

// TestLease_verdicts: a block with an AS0 ROA (even over a sixteenth of
// it), with space the RIR has not delegated, or announced by an AS on
// ASN-DROP is reject whatever the blocklists say (rule reject-category); one
// announced today by someone else is reject too (a high listing over the
// whole block, rule dense); a block with a ROA and an announcement for the
// expected origin and an allocation is clean. Every verdict's reasons mix
// the sources.
func TestLease_verdicts(t *testing.T) {
	t.Parallel()
	sc := &reputation.Scorer{Sources: leaseSources(t), AllowSpecial: true}
	tests := []struct {
		name, block string
		want        reputation.Verdict
		forcing     string // the category whose reason forces the verdict
		rule        string // by this rule
	}{
		{name: "as0_sixteenth_of_block", block: "203.0.113.0/24", want: reputation.VerdictReject, forcing: sources.CategoryRPKIAS0, rule: reputation.RuleRejectCategory},
		{name: "rir_available_sixteenth", block: "198.51.100.0/24", want: reputation.VerdictReject, forcing: sources.CategoryRIRUnallocated, rule: reputation.RuleRejectCategory},
		{name: "asn_drop_origin", block: "198.18.0.0/24", want: reputation.VerdictReject, forcing: sources.CategoryASNDrop, rule: reputation.RuleRejectCategory},
		{name: "foreign_origin", block: "198.18.1.0/24", want: reputation.VerdictReject, forcing: sources.CategoryForeignOrigin, rule: reputation.RuleDense},
		{name: "ready_v4", block: "192.0.2.0/24", want: reputation.VerdictClean},
		{name: "as0_v6", block: "2001:db8:dead::/48", want: reputation.VerdictReject, forcing: sources.CategoryRPKIAS0, rule: reputation.RuleRejectCategory},
		{name: "ready_v6", block: "2001:db8:1::/48", want: reputation.VerdictClean},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := sc.Score(t.Context(), mpp(tt.block))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tt.want {
				t.Errorf("verdict %s, want %s; reasons:\n%s", rep.Verdict, tt.want, reasonsText(rep))
			}
			if tt.forcing != "" && !slices.ContainsFunc(rep.Reasons, func(r reputation.Reason) bool {
				return r.Category == tt.forcing && r.Forces == tt.want && strings.Contains(r.Text, tt.rule)
			}) {
				t.Errorf("no %s reason forces %s by rule %s:\n%s", tt.forcing, tt.want, tt.rule, reasonsText(rep))
			}
			srcs := map[string]bool{}
			for _, r := range rep.Reasons {
				srcs[r.Source] = true
			}
			if len(srcs) < 2 {
				t.Errorf("reasons come from %v, want several sources together:\n%s", srcs, reasonsText(rep))
			}
		})
	}
}

func reasonsText(rep *reputation.Report) string {
	var b strings.Builder
	for _, r := range rep.Reasons {
		b.WriteString("  " + r.Text + "\n")
	}
	return b.String()
}
