package reputation

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Verdict is the conclusion of a [Report].
type Verdict string

// Verdicts.
const (
	// VerdictClean: enough of the block was checked, the score is at or
	// above [Policy.ReviewBelow] and no escalation rule fired.
	VerdictClean Verdict = "clean"
	// VerdictReview: the score is below [Policy.ReviewBelow] but not below
	// [Policy.RejectBelow], or a review rule fired; a person should look at
	// the reasons.
	VerdictReview Verdict = "review"
	// VerdictReject: the score is below [Policy.RejectBelow], or a reject
	// rule fired (see [Policy]).
	VerdictReject Verdict = "reject"
	// VerdictIncomplete: too few planned lookups got a definite answer
	// (coverage below [Policy.MinCoverage]), or the call was cancelled. It is
	// never turned into clean. A reject rule that fired on the answers that
	// did arrive still rejects: missing answers can only add evidence.
	VerdictIncomplete Verdict = "incomplete"
)

// Policy defaults. A zero field of [Policy] means its default.
const (
	// DefaultPolicyVersion is stamped into reports scored with the default
	// policy. Any other policy gets a stamp derived from its values (see
	// [Policy.Version]).
	DefaultPolicyVersion = "prefixvet-2"
	// DefaultMinBreadth: a (source, category) that lists anything in the
	// block costs at least this share of its points.
	DefaultMinBreadth = 0.1
	// DefaultReviewBelow: scores below it are reviewed.
	DefaultReviewBelow = 90.0
	// DefaultRejectBelow: scores below it are rejected.
	DefaultRejectBelow = 50.0
	// DefaultMinCoverage: below this share of definite answers the verdict
	// is incomplete.
	DefaultMinCoverage = 0.9
	// DefaultCriticalShare: a critical listing covering at least this share
	// of the block forces reject.
	DefaultCriticalShare = 0.5
	// DefaultDenseShare: one (source, category) of severity high or critical
	// listing at least this share of the checked addresses forces reject
	// (BLAG, NDSS 2020: where a quarter of a /24 is listed, operators block
	// the /24).
	DefaultDenseShare = 0.25
	// DefaultReviewShare: one source listing at least this share of the
	// checked addresses, whatever its severity (info and allow aside),
	// forces at least review.
	DefaultReviewShare = 0.5
	// DefaultReviewSeverity: a listing of at least this severity anywhere
	// in the block forces at least review (brokers fail a range on a single
	// Spamhaus SBL listing).
	DefaultReviewSeverity = SeverityHigh
	// DefaultHotAddrs: a /24 holding at least this many addresses listed by
	// address-scope evidence is hot and forces at least review (UCEPROTECT
	// Level 2's 2024 threshold for a /24).
	DefaultHotAddrs = 4
)

// DefaultRejectCategories returns the categories that reject a block
// wherever they appear in it: an AS0 ROA ("must not be routed", RFC 6483),
// space the RIR has not delegated (nobody can lease it), and an origin on
// Spamhaus ASN-DROP.
func DefaultRejectCategories() []string {
	return []string{"rpki-as0", "rir-unallocated", "asn-drop"}
}

// Escalation rules, as named in [Reason.Rule].
const (
	RuleCriticalShare  = "critical-share"  // critical listing covering CriticalShare of the block: reject
	RuleRejectCategory = "reject-category" // a category of RejectCategories anywhere: reject
	RuleDense          = "dense"           // high/critical (source, category) listing DenseShare: reject
	RuleReviewSeverity = "severe-listing"  // any listing of ReviewSeverity or worse: review
	RuleReviewShare    = "dense-any"       // one source listing ReviewShare, any severity: review
	RuleHot24          = "hot-24"          // a /24 with HotAddrs listed addresses: review
)

// DefaultPoints returns the default points of a severity: allow 0, info 0,
// low 10, medium 25, high 40, critical 100. Allow always costs 0, whatever
// the policy says.
func DefaultPoints(s Severity) float64 {
	switch s {
	case SeverityLow:
		return 10
	case SeverityMedium:
		return 25
	case SeverityHigh:
		return 40
	case SeverityCritical:
		return 100
	}
	return 0
}

// ErrInvalidPolicy is wrapped by the error of [Policy.Validate], and of
// [Scorer.Score] and [Scorer.ScoreAll] when their Policy is invalid.
var ErrInvalidPolicy = errors.New("reputation: invalid policy")

// Policy turns the answers of the sources into a score and a verdict.
//
// # Points
//
// The score starts at 100. Each (source, category) that lists anything in
// the block subtracts
//
//	points(severity) × weight(source) × breadth
//
// and the result is clamped to [0, 100]. Breadth is
// MinBreadth + (1 − MinBreadth) × f, where f is the share of the block the
// listing covers: for per-address sources the listed share of the addresses
// that got an answer (when the block was sampled, the Wilson 95% upper bound
// of that share), for whole-block sources ([PrefixLookuper]) the share of the
// block covered by the returned entries (an entry covering the block is 1).
// So one listed address already costs MinBreadth of the points (with the
// defaults at least 1 point) and a listing covering the block costs all of
// them. Whitelist evidence ([SeverityAllow]) never changes the score.
//
// # Escalation rules
//
// Points alone cap what one list can say: a (source, category) never costs
// more than its severity's points. So the verdict also follows rules that no
// arithmetic can hide. Each rule that fires is shown in [Report.Reasons] with
// its name ([Reason.Rule]), the verdict it forces ([Reason.Forces]) and its
// numbers in the text. A source whose weight is 0 fires no rule.
//
//   - reject (RuleCriticalShare): a critical (source, category) covers at
//     least CriticalShare of the block;
//   - reject (RuleRejectCategory): evidence of one of RejectCategories
//     anywhere in the block;
//   - reject (RuleDense): one (source, category) of severity high or
//     critical lists at least DenseShare of the checked addresses (of a
//     sampled block: the Wilson 95% lower bound of the share), or covers that
//     share of the block;
//   - at least review (RuleReviewSeverity): any listing of ReviewSeverity or
//     worse;
//   - at least review (RuleReviewShare): one source lists at least
//     ReviewShare of the checked addresses (or covers it), whatever its
//     severity, info and allow aside;
//   - at least review (RuleHot24): the block holds a hot /24, one with at
//     least HotAddrs addresses listed (low severity or worse) by
//     address-scope evidence of any per-address source; for a block smaller
//     than a /24 the threshold drops by one per bit, to at least 1
//     (UCEPROTECT: a /25 at 3, a /26 at 2, smaller at 1).
//
// Then: a score below RejectBelow rejects, below ReviewBelow reviews;
// coverage below MinCoverage is incomplete (unless a reject rule fired).
// More evidence never improves a score or a verdict.
//
// The zero Policy is usable: every zero field means its default. A negative
// DenseShare, ReviewShare or HotAddrs turns that rule off, as does a
// ReviewSeverity above SeverityCritical and an empty non-nil
// RejectCategories. [Policy.Validate] says what is out of range; the Scorer
// refuses an invalid policy. A Policy must not be modified while a [Scorer]
// uses it.
type Policy struct {
	// Version names the policy. Reports carry a stamp derived from it and
	// from the resolved values: DefaultPolicyVersion when the values are the
	// defaults and Version is empty or DefaultPolicyVersion; otherwise
	// Version (or DefaultPolicyVersion when empty) followed by "+" and a
	// short hash of the values, so that two different policies never share
	// a stamp and scores are compared only when they were computed alike.
	Version string
	// Points maps a severity to its points (finite, not negative). A
	// severity missing from the map gets [DefaultPoints]; a nil map means
	// all defaults. SeverityAllow always costs 0.
	Points map[Severity]float64
	// Weights maps a source name to a multiplier of its points (finite, not
	// negative); a missing name means 1. Every name must be a source of the
	// Scorer that uses the policy.
	Weights map[string]float64
	// MinBreadth is the share of its points that a single listing costs, in
	// (0, 1]; 0 means DefaultMinBreadth.
	MinBreadth float64
	// ReviewBelow: a score below it is at best review; in [0, 100], 0 means
	// DefaultReviewBelow.
	ReviewBelow float64
	// RejectBelow: a score below it is reject; in [0, ReviewBelow], 0 means
	// DefaultRejectBelow.
	RejectBelow float64
	// MinCoverage is the share of planned lookups that must get a definite
	// answer for the verdict not to be incomplete, in (0, 1]; 0 means
	// DefaultMinCoverage.
	MinCoverage float64
	// CriticalShare is the share of the block a critical listing must cover
	// to force reject, in (0, 1]; 0 means DefaultCriticalShare. Set it to a
	// tiny positive value to reject on any critical listing.
	CriticalShare float64
	// DenseShare is the share of the checked addresses one high or critical
	// (source, category) must list to force reject, in (0, 1]; 0 means
	// DefaultDenseShare, negative turns the rule off.
	DenseShare float64
	// ReviewShare is the share of the checked addresses one source must
	// list, whatever the severity, to force at least review, in (0, 1]; 0
	// means DefaultReviewShare, negative turns the rule off.
	ReviewShare float64
	// ReviewSeverity is the least severity of a listing that forces at
	// least review wherever it is; 0 (SeverityInfo, which never forces
	// anything) means DefaultReviewSeverity, a value above SeverityCritical
	// turns the rule off.
	ReviewSeverity Severity
	// HotAddrs is how many addresses listed by address-scope evidence make
	// a /24 hot; 0 means DefaultHotAddrs, negative turns the rule off.
	HotAddrs int
	// RejectCategories are categories that reject the block wherever they
	// appear in it; nil means [DefaultRejectCategories], an empty non-nil
	// slice none.
	RejectCategories []string
}

// DefaultPolicy returns a new Policy with every field set to its default.
func DefaultPolicy() *Policy {
	pts := make(map[Severity]float64, 6)
	for s := SeverityAllow; s <= SeverityCritical; s++ {
		pts[s] = DefaultPoints(s)
	}
	return &Policy{
		Version:          DefaultPolicyVersion,
		Points:           pts,
		MinBreadth:       DefaultMinBreadth,
		ReviewBelow:      DefaultReviewBelow,
		RejectBelow:      DefaultRejectBelow,
		MinCoverage:      DefaultMinCoverage,
		CriticalShare:    DefaultCriticalShare,
		DenseShare:       DefaultDenseShare,
		ReviewShare:      DefaultReviewShare,
		ReviewSeverity:   DefaultReviewSeverity,
		HotAddrs:         DefaultHotAddrs,
		RejectCategories: DefaultRejectCategories(),
	}
}

// Validate reports whether p is a usable policy: nil, or the errors.Join of
// one error per problem, each wrapping [ErrInvalidPolicy] and naming the
// field. Zero fields are valid (they mean their defaults); NaN and ±Inf never
// are. Whether Weights name sources of a Scorer is checked by the Scorer.
// A nil Policy is valid.
func (p *Policy) Validate() error {
	if p == nil {
		return nil
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, field, fmt.Sprintf(format, args...)))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	share := func(field string, v float64, offAllowed bool) {
		switch {
		case !finite(v):
			bad(field, "%v is not a number", v)
		case v < 0 && !offAllowed:
			bad(field, "%v is negative (want a share in (0, 1], or 0 for the default)", v)
		case v > 1:
			bad(field, "%v is above 1 (want a share in (0, 1], or 0 for the default)", v)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(p.Points)) {
		v := p.Points[s]
		switch {
		case s < SeverityAllow || s > SeverityCritical:
			bad("Points", "unknown severity %d", int(s))
		case !finite(v) || v < 0:
			bad("Points["+s.String()+"]", "%v is not a finite number of points >= 0", v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Weights)) {
		if v := p.Weights[name]; !finite(v) || v < 0 {
			bad(fmt.Sprintf("Weights[%q]", name), "%v is not a finite weight >= 0", v)
		}
	}
	share("MinBreadth", p.MinBreadth, false)
	share("MinCoverage", p.MinCoverage, false)
	share("CriticalShare", p.CriticalShare, false)
	share("DenseShare", p.DenseShare, true)
	share("ReviewShare", p.ReviewShare, true)
	for _, f := range []struct {
		name string
		v    float64
	}{{"ReviewBelow", p.ReviewBelow}, {"RejectBelow", p.RejectBelow}} {
		if !finite(f.v) || f.v < 0 || f.v > 100 {
			bad(f.name, "%v is not a score in [0, 100]", f.v)
		}
	}
	if rv, rj := orDefault(p.ReviewBelow, DefaultReviewBelow), orDefault(p.RejectBelow, DefaultRejectBelow); finite(rv) && finite(rj) && rj > rv {
		bad("RejectBelow", "%v (resolved) is above ReviewBelow %v (resolved): a score cannot be rejected without being reviewed first", rj, rv)
	}
	if p.ReviewSeverity < SeverityInfo {
		bad("ReviewSeverity", "%s is below info (want low..critical, 0 for the default, or above critical for off)", p.ReviewSeverity)
	}
	for i, c := range p.RejectCategories {
		if c == "" {
			bad(fmt.Sprintf("RejectCategories[%d]", i), "empty category")
		}
	}
	return errors.Join(errs...)
}

// policy is a Policy with its defaults resolved.
type policy struct {
	version                                                      string
	points                                                       [SeverityCritical + 2]float64 // indexed by Severity+1
	weights                                                      map[string]float64
	minBreadth, reviewBelow, rejectBelow, minCoverage, critShare float64
	denseShare, reviewShare                                      float64 // 0: rule off
	reviewSev                                                    Severity
	hotAddrs                                                     int // 0: rule off
	rejectCats                                                   []string
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// resolve returns p with defaults filled in and its stamp; p may be nil. p
// must be valid.
func (p *Policy) resolve() *policy {
	r := p.resolveValues()
	var name string
	if p != nil {
		name = p.Version
	}
	r.version = r.stamp(name)
	return r
}

// resolveValues returns p with defaults filled in, without a stamp.
func (p *Policy) resolveValues() *policy {
	if p == nil {
		p = &Policy{}
	}
	r := &policy{
		weights:     p.Weights,
		minBreadth:  orDefault(p.MinBreadth, DefaultMinBreadth),
		reviewBelow: orDefault(p.ReviewBelow, DefaultReviewBelow),
		rejectBelow: orDefault(p.RejectBelow, DefaultRejectBelow),
		minCoverage: orDefault(p.MinCoverage, DefaultMinCoverage),
		critShare:   orDefault(p.CriticalShare, DefaultCriticalShare),
		denseShare:  max(0, orDefault(p.DenseShare, DefaultDenseShare)),
		reviewShare: max(0, orDefault(p.ReviewShare, DefaultReviewShare)),
		reviewSev:   p.ReviewSeverity,
		hotAddrs:    p.HotAddrs,
		rejectCats:  p.RejectCategories,
	}
	if r.reviewSev == 0 {
		r.reviewSev = DefaultReviewSeverity
	}
	switch {
	case r.hotAddrs == 0:
		r.hotAddrs = DefaultHotAddrs
	case r.hotAddrs < 0:
		r.hotAddrs = 0
	}
	if r.rejectCats == nil {
		r.rejectCats = DefaultRejectCategories()
	}
	for s := SeverityAllow; s <= SeverityCritical; s++ {
		v, ok := p.Points[s]
		if !ok || s == SeverityAllow {
			v = DefaultPoints(s)
		}
		r.points[s+1] = v
	}
	return r
}

// stamp returns the policy stamp for a policy named name with r's values.
func (r *policy) stamp(name string) string {
	def := (*Policy)(nil).resolveValues().values()
	if name == "" {
		name = DefaultPolicyVersion
	}
	v := r.values()
	if name == DefaultPolicyVersion && v == def {
		return name
	}
	sum := sha256.Sum256([]byte(v))
	return name + "+" + hex.EncodeToString(sum[:4])
}

// values returns a canonical text of the values that decide a verdict.
func (r *policy) values() string {
	var b strings.Builder
	for s := SeverityAllow; s <= SeverityCritical; s++ {
		fmt.Fprintf(&b, "points.%s=%v;", s, r.points[s+1])
	}
	for _, name := range slices.Sorted(maps.Keys(r.weights)) {
		fmt.Fprintf(&b, "weight.%q=%v;", name, r.weights[name])
	}
	fmt.Fprintf(&b, "minBreadth=%v;reviewBelow=%v;rejectBelow=%v;minCoverage=%v;criticalShare=%v;",
		r.minBreadth, r.reviewBelow, r.rejectBelow, r.minCoverage, r.critShare)
	fmt.Fprintf(&b, "denseShare=%v;reviewShare=%v;reviewSeverity=%d;hotAddrs=%d;",
		r.denseShare, r.reviewShare, int(r.reviewSev), r.hotAddrs)
	cats := slices.Clone(r.rejectCats)
	slices.Sort(cats)
	fmt.Fprintf(&b, "rejectCategories=%q", slices.Compact(cats))
	return b.String()
}

func (p *policy) pointsOf(s Severity) float64 {
	if s < SeverityAllow || s > SeverityCritical {
		return 0
	}
	return p.points[s+1]
}

func (p *policy) weight(source string) float64 {
	w, ok := p.weights[source]
	if !ok {
		return 1
	}
	return max(0, w)
}

// rejects reports whether category cat rejects a block wherever it appears.
func (p *policy) rejects(cat string) bool { return slices.Contains(p.rejectCats, cat) }

// hotThreshold returns how many listed addresses make a /24 hot in a block
// of the given prefix length (bits > 24 scales down as UCEPROTECT does), or
// 0 when the rule is off.
func (p *policy) hotThreshold(bits int) int {
	if p.hotAddrs == 0 {
		return 0
	}
	return max(1, p.hotAddrs-max(0, bits-24))
}

// wilsonUpper returns the upper bound of the Wilson 95% score interval for x
// successes in n trials.
func wilsonUpper(x, n int) float64 {
	if n <= 0 {
		return 1
	}
	c, d, den := wilson(x, n)
	return min(1, (c+d)/den)
}

// wilsonLower returns the lower bound of the Wilson 95% score interval for x
// successes in n trials.
func wilsonLower(x, n int) float64 {
	if n <= 0 {
		return 0
	}
	c, d, den := wilson(x, n)
	return max(0, (c-d)/den)
}

// wilson returns the centre, half-width and denominator of the Wilson 95%
// score interval for x successes in n > 0 trials: the bounds are
// (c ± d) / den.
func wilson(x, n int) (c, d, den float64) {
	const z = 1.959963984540054
	nf := float64(n)
	ph := float64(x) / nf
	z2 := z * z
	c = ph + z2/(2*nf)
	d = z * math.Sqrt(ph*(1-ph)/nf+z2/(4*nf*nf))
	return c, d, 1 + z2/nf
}
