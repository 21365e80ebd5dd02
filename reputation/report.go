package reputation

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/prefixvet/prefixvet/prefix"
)

// Report is the explained result of scoring one block. Its JSON form is
// stable: field names are snake_case and only ever added to.
//
// Reports returned together with an error (cancellation, no usable sources)
// are partial: their verdict is [VerdictIncomplete].
type Report struct {
	// Prefix is the block scored, masked.
	Prefix netip.Prefix `json:"prefix"`
	// Score is 100 minus the points of every reason, clamped to [0, 100] and
	// rounded to two decimals. When NotScored is set it is 0 and means
	// nothing.
	Score float64 `json:"score"`
	// NotScored reports that no lookup got a definite answer (coverage 0,
	// or nothing could be asked), so there was nothing to score: Score is
	// then 0 rather than a 100 that would read as clean, and the verdict is
	// [VerdictIncomplete]. Text renderings say "not scored".
	NotScored bool `json:"not_scored,omitempty"`
	// Verdict is the conclusion; see [Verdict].
	Verdict Verdict `json:"verdict"`
	// AddressesTotal is the number of addresses in the block (exact: it is
	// a power of two, up to 2^128).
	AddressesTotal float64 `json:"addresses_total"`
	// AddressesChecked is the number of distinct addresses that got at
	// least one definite answer (listed or not listed) from a per-address
	// source: an address whose every lookup failed or was cut off is not
	// checked. Whole-block sources ([PrefixLookuper]) examine the whole
	// block in one lookup and are not counted here; see BlockChecked.
	AddressesChecked int `json:"addresses_checked"`
	// BlockChecked reports whether some whole-block source
	// ([PrefixLookuper]: a feed, a local zone mirror) answered for the
	// whole block.
	BlockChecked bool `json:"block_checked,omitempty"`
	// Sampled reports whether some per-address source was asked about fewer
	// addresses than the block holds (the block exceeded
	// [Scorer.MaxAddrs], was an IPv6 /64 or wider, or a source's budget
	// was smaller). Sampled breadths use the Wilson 95% upper bound.
	Sampled bool `json:"sampled"`
	// Seed is the sampling seed used (reported whether or not it was
	// needed, so that a run can be repeated).
	Seed uint64 `json:"seed"`
	// Coverage is LookupsAnswered / LookupsPlanned; 0 when nothing was
	// planned.
	Coverage float64 `json:"coverage"`
	// LookupsPlanned counts the lookups planned for this block over usable
	// sources: one per (address, source) for per-address sources and one
	// per whole-block source.
	LookupsPlanned int `json:"lookups_planned"`
	// LookupsAnswered counts the planned lookups that got a definite answer
	// (listed or not listed).
	LookupsAnswered int `json:"lookups_answered"`
	// Interrupted reports whether the call was cancelled before every
	// planned lookup finished.
	Interrupted bool `json:"interrupted,omitempty"`
	// DurationMS is the wall time of the call in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// PolicyVersion is [Policy.Version] of the policy used.
	PolicyVersion string `json:"policy_version"`
	// Reasons explain the score, one per (source, category) that listed
	// anything, sorted by points (largest first), then source and category.
	Reasons []Reason `json:"reasons"`
	// Sources reports on every source of the Scorer, in the Scorer's order.
	Sources []SourceReport `json:"sources"`
	// Listings are the listed answers, sorted by address or extent, then
	// source: extents from whole-block sources, and from per-address
	// sources single addresses or, where consecutive addresses got the same
	// answer (source, codes, categories, severity, scope, IDs, and a reason
	// and delisting URL that differ only by the address they name), one
	// entry per CIDR prefix of the range, whose Reason and DelistURL are
	// those of the prefix's first address. At most [Scorer.MaxListings] entries are
	// kept, the most severe first; Omitted counts the others per source.
	// Whitelist-only answers are in Whitelist instead.
	Listings []ListingReport `json:"listings"`
	// Omitted counts, per source, the listing entries left out of Listings
	// by [Scorer.MaxListings]; nil when none were. Reasons, Sources and
	// Subnets count every listing.
	Omitted map[string]int `json:"omitted,omitempty"`
	// Whitelist holds whitelist evidence ([SeverityAllow]); it is shown,
	// never scored.
	Whitelist []ListingReport `json:"whitelist"`
	// Unknown holds every planned lookup that got no answer, sorted by
	// source, then address: those that failed (counted in
	// SourceReport.Errors) and, in an interrupted report, those the
	// caller's context cut off or that never started (counted in
	// SourceReport.Interrupted; their error wraps the context's).
	Unknown []UnknownReport `json:"unknown"`
	// Subnets breaks a large block down: one entry per /24 of an IPv4 block
	// larger than a /24, per /48 of an IPv6 block larger than a /48, for
	// every subnet that holds a checked address or a whole-block listing,
	// in address order. Empty for smaller blocks.
	Subnets []SubnetReport `json:"subnets,omitempty"`
}

// Reason is one deduction: what a (source, category) pair said about the
// block and what it cost.
type Reason struct {
	Source   string   `json:"source"`
	Kind     Kind     `json:"kind"`
	Category string   `json:"category"`
	Severity Severity `json:"severity"` // the highest severity seen
	Scope    Scope    `json:"scope"`    // the widest scope seen
	// Listed and Checked count addresses for per-address sources: how many
	// were listed, out of how many got an answer.
	Listed  int `json:"listed"`
	Checked int `json:"checked"`
	// Entries counts the matching entries of a whole-block source.
	Entries int `json:"entries"`
	// Covered is the share of the block found listed (point estimate).
	Covered float64 `json:"covered"`
	// Breadth is the multiplier of the points (see [Policy]).
	Breadth float64 `json:"breadth"`
	// Points is what the reason costs, rounded to two decimals.
	Points float64 `json:"points"`
	// Rule names the strongest escalation rule that fired on this reason
	// (see [Policy]: RuleDense, RuleHot24, ...); empty when none did. A
	// reason for a rule that spans sources (RuleHot24) has no Source and
	// costs no points.
	Rule string `json:"rule,omitempty"`
	// Forces is the verdict that Rule forces at least (review or reject).
	Forces Verdict `json:"forces,omitempty"`
	// ForcesReject is set when Forces is reject.
	ForcesReject bool `json:"forces_reject,omitempty"`
	// Text is the reason for people, such as
	// "SpamCop (spam): 12 of 256 addresses listed, -5.7", followed by each
	// rule that fired: "; rule dense: high lists 44% of the checked
	// addresses, 25% or more, forces reject".
	Text string `json:"text"`
}

// SourceReport is what one source did for one block.
type SourceReport struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Status is the source's health (StatusOK for sources without a probe).
	Status Status `json:"status"`
	// Detail says why a source is not usable, or why it was not asked.
	Detail string `json:"detail,omitempty"`
	// Planned, Queried, Listed and Errors count lookups: planned for this
	// block, finished (answered or failed), answered listed, and failed.
	Planned int `json:"planned"`
	Queried int `json:"queried"`
	Listed  int `json:"listed"`
	Errors  int `json:"errors"`
	// Interrupted counts the planned lookups that did not finish because
	// the caller's context was done (Planned = Queried + Interrupted).
	Interrupted int `json:"interrupted,omitempty"`
}

// ListingReport is one listed answer: an address from a per-address source,
// or an extent (which may be wider than the block) from a whole-block source.
type ListingReport struct {
	Address    netip.Addr   `json:"address,omitzero"`
	Prefix     netip.Prefix `json:"prefix,omitzero"`
	Source     string       `json:"source"`
	Codes      []netip.Addr `json:"codes,omitempty"`
	Categories []string     `json:"categories"`
	Severity   Severity     `json:"severity"` // the highest severity of the evidence
	Scope      Scope        `json:"scope"`    // the widest scope of the evidence
	IDs        []string     `json:"ids,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	DelistURL  string       `json:"delist_url,omitempty"`
}

// Contains reports whether the listing covers a.
func (l ListingReport) Contains(a netip.Addr) bool {
	if l.Prefix.IsValid() {
		return l.Prefix.Contains(a)
	}
	return l.Address == a
}

// UnknownReport is one lookup that got no answer.
type UnknownReport struct {
	Address netip.Addr   `json:"address,omitzero"` // zero for a whole-block lookup
	Prefix  netip.Prefix `json:"prefix,omitzero"`  // set for a whole-block lookup
	Source  string       `json:"source"`
	Error   string       `json:"error"`
	// Err is the *SourceError; it does not survive JSON.
	Err error `json:"-"`
}

// AddressState is the state of one checked address in [Report.AddressStates].
type AddressState uint8

// Address states, in increasing precedence.
const (
	StateClean    AddressState = iota // every answer was "not listed"
	StateUnknown                      // some lookup got no answer, none listed it
	StateListed                       // listed by some source, low severity or worse
	StateCritical                     // listed with critical severity
)

// String returns "clean", "unknown", "listed" or "critical".
func (s AddressState) String() string {
	switch s {
	case StateClean:
		return "clean"
	case StateUnknown:
		return "unknown"
	case StateListed:
		return "listed"
	case StateCritical:
		return "critical"
	}
	return "AddressState(" + strconv.Itoa(int(s)) + ")"
}

// AddressStatus is the state of one address.
type AddressStatus struct {
	Addr  netip.Addr
	State AddressState
}

// MaxAddressStates is the largest block for which [Report.AddressStates]
// lists every address.
const MaxAddressStates = 1 << 16

// AddressStates returns the state of each address of the block, ascending,
// derived from Listings and Unknown alone, so it works on reports that went
// through JSON. When the block was walked completely (not Sampled) and holds
// at most MaxAddressStates addresses, every address is returned (a /24 gives
// the 256 cells of a 16×16 map); otherwise only the addresses named by
// Listings and Unknown. In an interrupted report addresses that are not
// listed are unknown. A failed whole-block lookup makes every address not
// listed by another source unknown.
func (r *Report) AddressStates() []AddressStatus {
	var addrs []netip.Addr
	if p := r.Prefix; p.IsValid() && !r.Sampled && p.Addr().BitLen()-p.Bits() <= 16 { // at most MaxAddressStates
		for a := range prefix.RangeOf(r.Prefix).All() {
			addrs = append(addrs, a)
		}
	} else {
		for _, l := range r.Listings {
			if l.Address.IsValid() {
				addrs = append(addrs, l.Address)
			}
		}
		for _, u := range r.Unknown {
			if u.Address.IsValid() {
				addrs = append(addrs, u.Address)
			}
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		addrs = slices.Compact(addrs)
	}
	// One sweep: each listing or failed lookup raises the state of the
	// addresses it covers (a run of addrs found by binary search), counted
	// per state in a difference array, so the cost is the number of
	// addresses plus entries, not their product.
	var diff [StateCritical + 1][]int32
	raise := func(st AddressState, r prefix.Range) {
		i, _ := slices.BinarySearchFunc(addrs, r.From(), netip.Addr.Compare)
		j, found := slices.BinarySearchFunc(addrs, r.To(), netip.Addr.Compare)
		if found {
			j++
		}
		if i >= j {
			return
		}
		if diff[st] == nil {
			diff[st] = make([]int32, len(addrs)+1)
		}
		diff[st][i]++
		diff[st][j]--
	}
	for _, l := range r.Listings {
		raise(listingState(l), listingRange(l))
	}
	blockUnknown := r.Interrupted
	for _, u := range r.Unknown {
		if u.Address.IsValid() {
			raise(StateUnknown, prefix.RangeFrom(u.Address, u.Address))
		} else {
			blockUnknown = true
		}
	}
	var run [StateCritical + 1]int32
	out := make([]AddressStatus, len(addrs))
	for i, a := range addrs {
		st := StateClean
		if blockUnknown {
			st = StateUnknown
		}
		for k := range diff {
			if diff[k] != nil {
				run[k] += diff[k][i]
				if run[k] > 0 {
					st = max(st, AddressState(k))
				}
			}
		}
		out[i] = AddressStatus{a, st}
	}
	return out
}

// listingState is the state a listing gives its addresses. Info evidence
// (an RIR allocation, a ROA, who announces the block) costs no points and
// does not mark an address listed.
func listingState(l ListingReport) AddressState {
	if l.Severity < SeverityLow {
		return StateClean
	}
	if l.Severity >= SeverityCritical {
		return StateCritical
	}
	return StateListed
}
