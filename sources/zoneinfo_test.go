package sources_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prefixvet/prefixvet/reputation"
	"github.com/prefixvet/prefixvet/sources"
)

func TestZoneInfoDecode(t *testing.T) {
	t.Parallel()
	ev := func(code, cat string, sev reputation.Severity, sc reputation.Scope) reputation.Evidence {
		return reputation.Evidence{Code: mpa(code), Category: cat, Severity: sev, Scope: sc}
	}
	withDefault := testZone()
	withDefault.Default = sources.Code{Category: "spam", Severity: reputation.SeverityLow, Scope: reputation.ScopeRange}
	bare := sources.ZoneInfo{Zone: "bl.example.org", IPv4: true}
	loopbackListed := bare
	loopbackListed.LoopbackListed = true
	documentsLoopback := bare
	documentsLoopback.Codes = []sources.Code{{Addr: mpa("127.0.0.1"), Category: "proxy", Severity: reputation.SeverityLow}}
	documents255 := bare
	documents255.Codes = []sources.Code{{Addr: mpa("127.255.255.255"), Category: "spam", Severity: reputation.SeverityLow}}
	tests := []struct {
		name    string
		zone    sources.ZoneInfo
		answers []string
		want    []reputation.Evidence
		wantErr error
	}{
		{name: "empty", zone: testZone(), answers: nil, want: nil},
		{name: "one_code", zone: testZone(), answers: []string{"127.0.0.2"},
			want: []reputation.Evidence{ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress)}},
		{name: "several_codes_in_order", zone: testZone(), answers: []string{"127.0.0.9", "127.0.0.3"},
			want: []reputation.Evidence{ev("127.0.0.9", "hijacked", reputation.SeverityCritical, reputation.ScopeRange), ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress)}},
		{name: "duplicates_dropped", zone: testZone(), answers: []string{"127.0.0.2", "::ffff:127.0.0.2", "127.0.0.2"},
			want: []reputation.Evidence{ev("127.0.0.2", "spam", reputation.SeverityHigh, reputation.ScopeAddress)}},
		{name: "mapped_answer_unmapped", zone: testZone(), answers: []string{"::ffff:127.0.0.3"},
			want: []reputation.Evidence{ev("127.0.0.3", "exploited", reputation.SeverityMedium, reputation.ScopeAddress)}},
		{name: "undocumented_code_builtin_default", zone: testZone(), answers: []string{"127.1.2.3"},
			want: []reputation.Evidence{ev("127.1.2.3", "listed", reputation.SeverityMedium, reputation.ScopeAddress)}},
		{name: "undocumented_code_zone_default", zone: withDefault, answers: []string{"127.0.0.200"},
			want: []reputation.Evidence{ev("127.0.0.200", "spam", reputation.SeverityLow, reputation.ScopeRange)}},
		// 127.0.0.1 is never a listing (RFC 5782 reserves it) unless the zone
		// documents it or answers for it by design.
		{name: "loopback_code_undocumented", zone: testZone(), answers: []string{"127.0.0.1"}, wantErr: sources.ErrBogusAnswer},
		{name: "loopback_code_after_listing", zone: testZone(), answers: []string{"127.0.0.2", "127.0.0.1"}, wantErr: sources.ErrBogusAnswer},
		{name: "loopback_code_loopback_listed", zone: loopbackListed, answers: []string{"127.0.0.1"},
			want: []reputation.Evidence{ev("127.0.0.1", "listed", reputation.SeverityMedium, reputation.ScopeAddress)}},
		{name: "loopback_code_documented", zone: documentsLoopback, answers: []string{"127.0.0.1"},
			want: []reputation.Evidence{ev("127.0.0.1", "proxy", reputation.SeverityLow, reputation.ScopeAddress)}},
		{name: "range_error_code", zone: testZone(), answers: []string{"127.255.255.7"}, wantErr: sources.ErrRefused},
		{name: "most_specific_error_wins_rate", zone: testZone(), answers: []string{"127.255.255.255"}, wantErr: sources.ErrRateLimited},
		{name: "most_specific_error_wins_key", zone: testZone(), answers: []string{"127.255.255.251"}, wantErr: sources.ErrBadKey},
		{name: "most_specific_error_wins_typo", zone: testZone(), answers: []string{"127.255.255.252"}, wantErr: sources.ErrUnknownZone},
		{name: "open_resolver", zone: testZone(), answers: []string{"127.255.255.254"}, wantErr: sources.ErrRefused},
		{name: "error_after_listing", zone: testZone(), answers: []string{"127.0.0.2", "127.255.255.254"}, wantErr: sources.ErrRefused},
		{name: "outside_loopback", zone: testZone(), answers: []string{"10.0.0.2"}, wantErr: sources.ErrBogusAnswer},
		{name: "outside_after_listing", zone: testZone(), answers: []string{"127.0.0.2", "128.0.0.2"}, wantErr: sources.ErrBogusAnswer},
		{name: "ipv6_answer", zone: testZone(), answers: []string{"2001:db8::2"}, wantErr: sources.ErrBogusAnswer},
		// Zones without an error table: 127.255.255.0/24 is an error all the
		// same (a rate-limited SpamCop must not list the block).
		{name: "no_errors_defined_255", zone: bare, answers: []string{"127.255.255.255"}, wantErr: sources.ErrRateLimited},
		{name: "no_errors_defined_254", zone: bare, answers: []string{"127.255.255.254"}, wantErr: sources.ErrRefused},
		{name: "no_errors_defined_252", zone: bare, answers: []string{"127.255.255.252"}, wantErr: sources.ErrUnknownZone},
		{name: "no_errors_defined_other", zone: bare, answers: []string{"127.255.255.3"}, wantErr: sources.ErrRefused},
		{name: "no_errors_defined_after_listing", zone: bare, answers: []string{"127.0.0.2", "127.255.255.255"}, wantErr: sources.ErrRateLimited},
		{name: "zone_default_does_not_cover_errors", zone: withDefault, answers: []string{"127.255.255.255"}, wantErr: sources.ErrRateLimited},
		{name: "documented_code_in_error_range", zone: documents255, answers: []string{"127.255.255.255"},
			want: []reputation.Evidence{ev("127.255.255.255", "spam", reputation.SeverityLow, reputation.ScopeAddress)}},
		{name: "next_to_error_range_is_listing", zone: bare, answers: []string{"127.255.254.255"},
			want: []reputation.Evidence{ev("127.255.254.255", "listed", reputation.SeverityMedium, reputation.ScopeAddress)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var answers []netip.Addr
			for _, a := range tc.answers {
				answers = append(answers, mpa(a))
			}
			got, err := tc.zone.Decode(answers)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Decode(%v) error = %v, want %v", tc.answers, err, tc.wantErr)
			}
			if err != nil && got != nil {
				t.Errorf("Decode(%v) = %v with an error, want nil evidence", tc.answers, got)
			}
			if diff := cmp.Diff(tc.want, got, opts()...); diff != "" {
				t.Errorf("Decode(%v) mismatch (-want +got):\n%s", tc.answers, diff)
			}
		})
	}
}

func TestZoneInfoDecodeErrorText(t *testing.T) {
	t.Parallel()
	z := testZone()
	_, err := z.Decode([]netip.Addr{mpa("127.255.255.254")})
	want := "sources: query refused by list operator: bl.example.org answered 127.255.255.254 (open resolver)"
	if err == nil || err.Error() != want {
		t.Errorf("Decode error = %v, want %q", err, want)
	}
}

func TestZoneInfoHelpers(t *testing.T) {
	t.Parallel()
	z := testZone()
	if got := z.DisplayName(); got != "bl.example.org" {
		t.Errorf("DisplayName() = %q", got)
	}
	z.Name = "Example BL"
	if got := z.DisplayName(); got != "Example BL" {
		t.Errorf("DisplayName() = %q", got)
	}
	if got, want := z.Delist(mpa("2001:db8::1")), "https://bl.example.org/lookup?ip=2001:db8::1"; got != want {
		t.Errorf("Delist = %q, want %q", got, want)
	}
	z.DelistURL = ""
	if got := z.Delist(mpa("192.0.2.1")); got != "" {
		t.Errorf("Delist without a URL = %q", got)
	}
	z.Codes[0].Description = "spam source"
	if got := z.Description(mpa("127.0.0.2")); got != "spam source" {
		t.Errorf("Description = %q", got)
	}
	pos, neg := z.TestPoints()
	if pos != mpa("127.0.0.2") || neg != mpa("127.0.0.1") {
		t.Errorf("TestPoints() = %v, %v", pos, neg)
	}
	z.IPv4 = false
	pos, neg = z.TestPoints()
	if pos != mpa("::ffff:7f00:2") || neg != mpa("::ffff:7f00:1") || !pos.Is4In6() {
		t.Errorf("IPv6 TestPoints() = %v, %v", pos, neg)
	}
}

func TestZoneInfoValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*sources.ZoneInfo)
		fields []string // the Field of each *ZoneError, in order; nil = valid
	}{
		{name: "valid", edit: func(*sources.ZoneInfo) {}},
		{name: "valid_default_without_addr", edit: func(z *sources.ZoneInfo) { z.Default = sources.Code{Category: "spam"} }},
		{name: "valid_mailto_delist", edit: func(z *sources.ZoneInfo) { z.DelistURL = "mailto:delist@example.org" }},
		{name: "zone_missing", edit: func(z *sources.ZoneInfo) { z.Zone = "" }, fields: []string{"zone"}},
		{name: "zone_trailing_dot", edit: func(z *sources.ZoneInfo) { z.Zone = "bl.example.org." }, fields: []string{"zone"}},
		{name: "zone_single_label", edit: func(z *sources.ZoneInfo) { z.Zone = "localhost" }, fields: []string{"zone"}},
		{name: "zone_bad_chars", edit: func(z *sources.ZoneInfo) { z.Zone = "bl example.org" }, fields: []string{"zone"}},
		{name: "zone_with_key", edit: func(z *sources.ZoneInfo) { z.Zone = "{key}.example.org" }, fields: []string{"zone"}},
		{name: "keyed_zone_without_key", edit: func(z *sources.ZoneInfo) { z.KeyedZone = "dq.example.org" }, fields: []string{"keyed_zone"}},
		{name: "keyed_zone_invalid", edit: func(z *sources.ZoneInfo) { z.KeyedZone = "{key}..example.org" }, fields: []string{"keyed_zone"}},
		{name: "no_family", edit: func(z *sources.ZoneInfo) { z.IPv4, z.IPv6 = false, false }, fields: []string{"ipv4"}},
		{name: "alias_empty", edit: func(z *sources.ZoneInfo) { z.Aliases = []string{" "} }, fields: []string{"aliases[0]"}},
		{name: "alias_duplicate", edit: func(z *sources.ZoneInfo) { z.Aliases = []string{"bl", "BL"} }, fields: []string{"aliases[1]"}},
		{name: "code_outside_loopback", edit: func(z *sources.ZoneInfo) { z.Codes[1].Addr = mpa("10.0.0.3") }, fields: []string{"codes[1]"}},
		{name: "code_ipv6", edit: func(z *sources.ZoneInfo) { z.Codes[1].Addr = mpa("::1") }, fields: []string{"codes[1]"}},
		{name: "code_missing_addr", edit: func(z *sources.ZoneInfo) { z.Codes[1].Addr = netip.Addr{} }, fields: []string{"codes[1]"}},
		{name: "code_no_category", edit: func(z *sources.ZoneInfo) { z.Codes[0].Category = "" }, fields: []string{"codes[0]"}},
		{name: "code_upper_category", edit: func(z *sources.ZoneInfo) { z.Codes[0].Category = "Spam" }, fields: []string{"codes[0]"}},
		{name: "code_bad_severity", edit: func(z *sources.ZoneInfo) { z.Codes[0].Severity = 9 }, fields: []string{"codes[0]"}},
		{name: "code_bad_scope", edit: func(z *sources.ZoneInfo) { z.Codes[0].Scope = 7 }, fields: []string{"codes[0]"}},
		{name: "code_duplicate", edit: func(z *sources.ZoneInfo) { z.Codes[1].Addr = z.Codes[0].Addr }, fields: []string{"codes[1].code"}},
		{name: "code_inside_error_prefix", edit: func(z *sources.ZoneInfo) { z.Codes[1].Addr = mpa("127.255.255.3") }, fields: []string{"codes[1].code"}},
		{name: "default_bad", edit: func(z *sources.ZoneInfo) { z.Default = sources.Code{Category: "x", Severity: -5} }, fields: []string{"default"}},
		{name: "error_prefix_missing", edit: func(z *sources.ZoneInfo) { z.Errors[0].Prefix = netip.Prefix{} }, fields: []string{"errors[0].prefix"}},
		{name: "error_prefix_host_bits", edit: func(z *sources.ZoneInfo) { z.Errors[0].Prefix = mpp("127.255.255.1/24") }, fields: []string{"errors[0].prefix"}},
		{name: "error_prefix_outside", edit: func(z *sources.ZoneInfo) { z.Errors[0].Prefix = mpp("10.0.0.0/8") }, fields: []string{"errors[0].prefix"}},
		{name: "error_kind_unknown", edit: func(z *sources.ZoneInfo) { z.Errors[1].Kind = "nope" }, fields: []string{"errors[1].kind"}},
		{name: "rate_negative", edit: func(z *sources.ZoneInfo) { z.Rate = -1 }, fields: []string{"rate"}},
		{name: "budget_negative", edit: func(z *sources.ZoneInfo) { z.Budget = -1 }, fields: []string{"budget"}},
		{name: "delist_not_url", edit: func(z *sources.ZoneInfo) { z.DelistURL = "ftp://x/{ip}" }, fields: []string{"delist_url"}},
		{name: "several_problems", edit: func(z *sources.ZoneInfo) { z.Rate = -1; z.Budget = -2; z.Codes[0].Category = "" },
			fields: []string{"codes[0]", "rate", "budget"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			z := testZone()
			tc.edit(&z)
			err := z.Validate()
			var fields []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ze *sources.ZoneError
					if !errors.As(e, &ze) {
						t.Fatalf("Validate error %v is not a *ZoneError", e)
					}
					if ze.Line != 0 || ze.Zone != z.Zone {
						t.Errorf("ZoneError = %+v, want Line 0 and Zone %q", ze, z.Zone)
					}
					fields = append(fields, ze.Field)
				}
			}
			if diff := cmp.Diff(tc.fields, fields, opts()...); diff != "" {
				t.Errorf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestZoneErrorText(t *testing.T) {
	t.Parallel()
	e := &sources.ZoneError{Line: 12, Zone: "bl.example.org", Field: "codes[2].code", Err: errors.New("bad")}
	if got, want := e.Error(), `line 12: zone "bl.example.org": codes[2].code: bad`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&sources.ZoneError{Err: errors.New("bad")}).Error(); got != "bad" {
		t.Errorf("bare Error() = %q", got)
	}
}

// FuzzDecode checks Decode on arbitrary answers against the zone's own
// rules: errors for anything outside 127/8, inside an error prefix or
// inside 127.255.255.0/24 (unless documented as a code), and for 127.0.0.1
// (unless the zone answers for it by design or documents it); otherwise one piece of evidence per distinct answer, in order.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2})
	f.Add([]byte{127, 0, 0, 2, 127, 0, 0, 4, 127, 0, 0, 2})
	f.Add([]byte{127, 255, 255, 254})
	f.Add([]byte{127, 255, 255, 255, 127, 0, 0, 2})
	f.Add([]byte{192, 0, 2, 1})
	f.Add([]byte{127, 1, 2, 3, 127, 0, 10, 3})
	zones := append(sources.Catalog(), testZone())
	f.Fuzz(func(t *testing.T, raw []byte) {
		var answers []netip.Addr
		for i := 0; i+4 <= len(raw) && len(answers) < 16; i += 4 {
			a := netip.AddrFrom4([4]byte(raw[i : i+4]))
			if len(raw)%2 == 1 { // sometimes hand in IPv4-mapped answers
				a = netip.AddrFrom16(a.As16())
			}
			answers = append(answers, a)
		}
		loop, errRange, loopback1 := mpp("127.0.0.0/8"), mpp("127.255.255.0/24"), mpa("127.0.0.1")
		for _, z := range zones {
			ev, err := z.Decode(answers)
			// The first offending answer decides the error.
			bogus, refused := false, false
			for _, a := range answers {
				a = a.Unmap()
				if !loop.Contains(a) {
					bogus = true
					break
				}
				documented := slices.ContainsFunc(z.Codes, func(c sources.Code) bool { return c.Addr == a })
				if slices.ContainsFunc(z.Errors, func(e sources.ErrorCode) bool { return e.Prefix.Contains(a) }) ||
					(errRange.Contains(a) && !documented) {
					refused = true
					break
				}
				if a == loopback1 && !z.LoopbackListed && !documented {
					bogus = true
					break
				}
			}
			switch {
			case bogus:
				if !errors.Is(err, sources.ErrBogusAnswer) {
					t.Fatalf("%s: Decode(%v) error = %v, want ErrBogusAnswer", z.Zone, answers, err)
				}
			case refused:
				if err == nil || errors.Is(err, sources.ErrBogusAnswer) {
					t.Fatalf("%s: Decode(%v) error = %v, want an error code", z.Zone, answers, err)
				}
				if !errors.Is(err, sources.ErrRefused) && !errors.Is(err, sources.ErrRateLimited) &&
					!errors.Is(err, sources.ErrBadKey) && !errors.Is(err, sources.ErrUnknownZone) {
					t.Fatalf("%s: Decode(%v) error = %v wraps no refusal sentinel", z.Zone, answers, err)
				}
			default:
				if err != nil {
					t.Fatalf("%s: Decode(%v) error = %v, want nil", z.Zone, answers, err)
				}
				seen := map[netip.Addr]bool{}
				var distinct []netip.Addr
				for _, a := range answers {
					if !seen[a.Unmap()] {
						seen[a.Unmap()] = true
						distinct = append(distinct, a.Unmap())
					}
				}
				if len(ev) != len(distinct) {
					t.Fatalf("%s: Decode(%v) gave %d evidence, want %d", z.Zone, answers, len(ev), len(distinct))
				}
				for i, e := range ev {
					if e.Code != distinct[i] || e.Category == "" || strings.ToLower(e.Category) != e.Category {
						t.Fatalf("%s: Decode(%v)[%d] = %+v", z.Zone, answers, i, e)
					}
					if _, err := e.Severity.MarshalText(); err != nil {
						t.Fatalf("%s: evidence severity: %v", z.Zone, err)
					}
				}
			}
		}
	})
}
