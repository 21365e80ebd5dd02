package reputation_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prefixvet/prefixvet/reputation"
)

// policyCase is one row of testdata/policy_table.json: an evidence pattern,
// the verdict policy prefixvet-2 must give it, the rules that must fire,
// and why, in the words of operator practice.
type policyCase struct {
	Name     string             `json:"name"`
	Block    string             `json:"block"`
	MaxAddrs int                `json:"max_addrs"`
	Weights  map[string]float64 `json:"weights"`
	Sources  []struct {
		Name     string              `json:"name"`
		Feed     bool                `json:"feed"`
		Category string              `json:"category"`
		Severity reputation.Severity `json:"severity"`
		Scope    reputation.Scope    `json:"scope"`
		// Listed and Errors are host offsets in the block ("7", "0-112"),
		// or "all".
		Listed        []string `json:"listed"`
		Errors        []string `json:"errors"`
		ListedV6Share float64  `json:"listed_v6_share"`
		Extents       []struct {
			Prefix   string              `json:"prefix"`
			Category string              `json:"category"`
			Severity reputation.Severity `json:"severity"`
			Scope    reputation.Scope    `json:"scope"`
		} `json:"extents"`
	} `json:"sources"`
	Want  reputation.Verdict `json:"want"`
	Rules []string           `json:"rules"`
	Why   string             `json:"why"`
}

// TestPolicyTable is the spec of the default policy: every row of
// testdata/policy_table.json must hold.
func TestPolicyTable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/policy_table.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []policyCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Errorf("the policy table has %d rows, want at least 25", len(cases))
	}
	verdicts := map[reputation.Verdict]int{}
	for _, tc := range cases {
		verdicts[tc.Want]++
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if tc.Why == "" {
				t.Error("row has no rationale")
			}
			block := mpp(tc.Block)
			var srcs []reputation.Source
			for _, sc := range tc.Sources {
				if sc.Feed {
					f := &feed{name: sc.Name}
					for _, e := range sc.Extents {
						f.entries = append(f.entries, entry(e.Prefix, e.Category, e.Severity, e.Scope, ""))
					}
					srcs = append(srcs, f)
					continue
				}
				l := reputation.Listing{Listed: true, Evidence: []reputation.Evidence{
					{Code: mpa("127.0.0.2"), Category: sc.Category, Severity: sc.Severity, Scope: sc.Scope},
				}}
				listed, errs := offsets(t, sc.Listed), offsets(t, sc.Errors)
				share := sc.ListedV6Share
				srcs = append(srcs, &fake{name: sc.Name, listFn: func(a netip.Addr) (reputation.Listing, bool) {
					off := hostOffset(block, a)
					switch {
					case errs(off):
						return reputation.Listing{}, false
					case share > 0:
						// A /64's place in the /48 decides, so that a
						// share of the sampled /64s is listed.
						b := a.As16()
						return l, float64(b[7]) < share*256
					}
					return l, listed(off)
				}, errFn: func(a netip.Addr) error {
					if errs(hostOffset(block, a)) {
						return errFlaky
					}
					return nil
				}})
			}
			s := &reputation.Scorer{Sources: srcs, AllowSpecial: true, MaxAddrs: tc.MaxAddrs}
			if tc.Weights != nil {
				s.Policy = &reputation.Policy{Weights: tc.Weights}
			}
			rep, err := s.Score(t.Context(), block)
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			var fired []string
			for _, r := range rep.Reasons {
				if r.Rule != "" {
					fired = append(fired, r.Rule)
				}
			}
			if rep.Verdict != tc.Want {
				t.Errorf("verdict %s (score %v, coverage %v), want %s: %s\nreasons:\n%s", rep.Verdict, rep.Score, rep.Coverage, tc.Want, tc.Why, reasonTexts(rep))
			}
			for _, r := range tc.Rules {
				if !slices.Contains(fired, r) {
					t.Errorf("rule %s did not fire; fired %v\nreasons:\n%s", r, fired, reasonTexts(rep))
				}
			}
			if len(tc.Rules) == 0 && len(fired) > 0 && tc.Want != reputation.VerdictReject {
				t.Errorf("rules %v fired, the row expects none\nreasons:\n%s", fired, reasonTexts(rep))
			}
		})
	}
	for _, v := range []reputation.Verdict{reputation.VerdictClean, reputation.VerdictReview, reputation.VerdictReject, reputation.VerdictIncomplete} {
		if verdicts[v] == 0 {
			t.Errorf("no row expects %s", v)
		}
	}
}

func reasonTexts(rep *reputation.Report) string {
	var b strings.Builder
	for _, r := range rep.Reasons {
		b.WriteString("  " + r.Text + "\n")
	}
	return b.String()
}

// hostOffset returns a's offset from the start of block (its low 32 bits).
func hostOffset(block netip.Prefix, a netip.Addr) uint64 {
	x, y := a.As16(), block.Addr().As16()
	var d uint64
	for i := 8; i < 16; i++ {
		d = d<<8 | uint64(x[i]-y[i])
	}
	return d
}

// offsets parses "7", "0-112" and "all" into a membership test.
func offsets(t *testing.T, specs []string) func(uint64) bool {
	t.Helper()
	var r [][2]uint64
	for _, s := range specs {
		if s == "all" {
			return func(uint64) bool { return true }
		}
		lo, hi, ok := strings.Cut(s, "-")
		if !ok {
			hi = lo
		}
		a, err1 := strconv.ParseUint(lo, 10, 64)
		b, err2 := strconv.ParseUint(hi, 10, 64)
		if err1 != nil || err2 != nil || b < a {
			t.Fatalf("bad offset range %q", s)
		}
		r = append(r, [2]uint64{a, b})
	}
	return func(o uint64) bool {
		return slices.ContainsFunc(r, func(x [2]uint64) bool { return x[0] <= o && o <= x[1] })
	}
}
