package reputation

import "math"

// Verdict is the conclusion of a [Report].
type Verdict string

// Verdicts.
const (
	// VerdictClean: enough of the block was checked and the score is at or
	// above [Policy.ReviewBelow].
	VerdictClean Verdict = "clean"
	// VerdictReview: the score is below [Policy.ReviewBelow] but not below
	// [Policy.RejectBelow]; a person should look at the reasons.
	VerdictReview Verdict = "review"
	// VerdictReject: the score is below [Policy.RejectBelow], or a critical
	// listing covers at least [Policy.CriticalShare] of the block.
	VerdictReject Verdict = "reject"
	// VerdictIncomplete: too few planned lookups got a definite answer
	// (coverage below [Policy.MinCoverage]), or the call was cancelled. It is
	// never turned into clean.
	VerdictIncomplete Verdict = "incomplete"
)

// Policy defaults. A zero field of [Policy] means its default.
const (
	// DefaultPolicyVersion is stamped into reports scored with the defaults.
	// A policy with any field changed and an empty Version is stamped
	// DefaultPolicyVersion+"+custom".
	DefaultPolicyVersion = "prefixvet-1"
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

// Policy turns the answers of the sources into a score and a verdict.
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
// The zero Policy is usable: every zero field means its default. A Policy
// must not be modified while a [Scorer] uses it.
type Policy struct {
	// Version names the policy; it is stamped into every report so that
	// scores can be compared only when they were computed alike. Empty
	// means DefaultPolicyVersion (or DefaultPolicyVersion+"+custom" when
	// another field is set).
	Version string
	// Points maps a severity to its points. A severity missing from the map
	// gets [DefaultPoints]; a nil map means all defaults. SeverityAllow
	// always costs 0.
	Points map[Severity]float64
	// Weights maps a source name to a multiplier of its points; a missing
	// name means 1, a negative weight counts as 0.
	Weights map[string]float64
	// MinBreadth is the share of its points that a single listing costs, in
	// (0, 1]; 0 means DefaultMinBreadth.
	MinBreadth float64
	// ReviewBelow: a score below it is at best review; 0 means
	// DefaultReviewBelow.
	ReviewBelow float64
	// RejectBelow: a score below it is reject; 0 means DefaultRejectBelow.
	RejectBelow float64
	// MinCoverage is the share of planned lookups that must get a definite
	// answer for the verdict not to be incomplete, in (0, 1]; 0 means
	// DefaultMinCoverage.
	MinCoverage float64
	// CriticalShare is the share of the block a critical listing must cover
	// to force reject, in (0, 1]; 0 means DefaultCriticalShare. Set it to a
	// tiny positive value to reject on any critical listing.
	CriticalShare float64
}

// DefaultPolicy returns a new Policy with every field set to its default.
func DefaultPolicy() *Policy {
	pts := make(map[Severity]float64, 6)
	for s := SeverityAllow; s <= SeverityCritical; s++ {
		pts[s] = DefaultPoints(s)
	}
	return &Policy{
		Version:       DefaultPolicyVersion,
		Points:        pts,
		MinBreadth:    DefaultMinBreadth,
		ReviewBelow:   DefaultReviewBelow,
		RejectBelow:   DefaultRejectBelow,
		MinCoverage:   DefaultMinCoverage,
		CriticalShare: DefaultCriticalShare,
	}
}

// policy is a Policy with its defaults resolved.
type policy struct {
	version                                                      string
	points                                                       [SeverityCritical + 2]float64 // indexed by Severity+1
	weights                                                      map[string]float64
	minBreadth, reviewBelow, rejectBelow, minCoverage, critShare float64
}

func orDefault(v, def float64) float64 {
	if v == 0 || math.IsNaN(v) {
		return def
	}
	return v
}

// resolve returns p with defaults filled in; p may be nil.
func (p *Policy) resolve() *policy {
	if p == nil {
		p = &Policy{}
	}
	r := &policy{
		version:     p.Version,
		weights:     p.Weights,
		minBreadth:  min(1, orDefault(p.MinBreadth, DefaultMinBreadth)),
		reviewBelow: orDefault(p.ReviewBelow, DefaultReviewBelow),
		rejectBelow: orDefault(p.RejectBelow, DefaultRejectBelow),
		minCoverage: orDefault(p.MinCoverage, DefaultMinCoverage),
		critShare:   orDefault(p.CriticalShare, DefaultCriticalShare),
	}
	for s := SeverityAllow; s <= SeverityCritical; s++ {
		v, ok := p.Points[s]
		if !ok || s == SeverityAllow {
			v = DefaultPoints(s)
		}
		r.points[s+1] = max(0, v)
	}
	if r.version == "" {
		r.version = DefaultPolicyVersion
		if p.Points != nil || p.Weights != nil || p.MinBreadth != 0 || p.ReviewBelow != 0 ||
			p.RejectBelow != 0 || p.MinCoverage != 0 || p.CriticalShare != 0 {
			r.version += "+custom"
		}
	}
	return r
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

// wilsonUpper returns the upper bound of the Wilson 95% score interval for x
// successes in n trials.
func wilsonUpper(x, n int) float64 {
	if n <= 0 {
		return 1
	}
	const z = 1.959963984540054
	nf := float64(n)
	ph := float64(x) / nf
	z2 := z * z
	c := ph + z2/(2*nf)
	d := z * math.Sqrt(ph*(1-ph)/nf+z2/(4*nf*nf))
	return min(1, (c+d)/(1+z2/nf))
}
