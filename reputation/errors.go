package reputation

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Sentinel errors returned by [Scorer.Score], [Scorer.ScoreAll] and
// [Scorer.Probe]. Test for them with [errors.Is].
var (
	// ErrNoSources: the Scorer has no sources.
	ErrNoSources = errors.New("reputation: no sources")
	// ErrDuplicateSource: two sources share a name (names key weights and
	// report entries, so they must be unique).
	ErrDuplicateSource = errors.New("reputation: duplicate source name")
	// ErrInvalidPrefix: a prefix is the zero (invalid) netip.Prefix.
	ErrInvalidPrefix = errors.New("reputation: invalid prefix")
	// ErrNoUsableSources: every source failed its health probe (refused,
	// dead or unreachable), so nothing could be asked. The error also wraps
	// each probe's error and its text names each source and why.
	ErrNoUsableSources = errors.New("reputation: no usable sources")
	// ErrNoUsableZones: the Scorer has DNSBL sources ([KindDNSBL]) and
	// every one failed its health probe -- typically a resolver that the
	// list operators refuse -- while other sources (feeds, mirrors) could
	// still be asked. The reports are returned, scored on those other
	// sources, and none of them is clean: a clean verdict would rest on no
	// DNSBL at all, so it becomes incomplete. The error names each zone and
	// why, once.
	ErrNoUsableZones = errors.New("reputation: no usable DNSBL zone")
)

// SourceError is a failed lookup: the source gave no answer about Addr (or,
// for a [PrefixLookuper], about Prefix). The Scorer records it as unknown and
// never scores it. Err is the source's error; a per-lookup timeout wraps
// [context.DeadlineExceeded].
type SourceError struct {
	Source string       // the source's name
	Addr   netip.Addr   // the address asked about; zero for a prefix lookup
	Prefix netip.Prefix // the block asked about by a prefix lookup; zero otherwise
	Err    error        // the source's error
}

// Error returns "reputation: SOURCE: lookup ADDR: ERR".
func (e *SourceError) Error() string {
	var what string
	switch {
	case e.Addr.IsValid():
		what = "lookup " + e.Addr.String()
	case e.Prefix.IsValid():
		what = "lookup " + e.Prefix.String()
	default:
		what = "probe"
	}
	return fmt.Sprintf("reputation: %s: %s: %v", e.Source, what, e.Err)
}

// Unwrap returns e.Err.
func (e *SourceError) Unwrap() error { return e.Err }

// PrefixError is a prefix of [Scorer.ScoreAll] that could not be scored:
// the zero netip.Prefix ([ErrInvalidPrefix]) or special-purpose space
// without [Scorer.AllowSpecial] (prefix.ErrSpecialPurpose). The other
// blocks of the batch are scored; the report slice holds nil at Index.
type PrefixError struct {
	Index  int          // the position of the prefix in the batch
	Prefix netip.Prefix // the prefix, masked (the zero Prefix if it was)
	Err    error        // why it was refused
}

// Error returns the refusal with the prefix's position in the batch, as in
// "reputation: 10.0.0.0/8 is special-purpose space: ... (ps[3])".
func (e *PrefixError) Error() string {
	return e.Err.Error() + " (ps[" + strconv.Itoa(e.Index) + "])"
}

// Unwrap returns e.Err.
func (e *PrefixError) Unwrap() error { return e.Err }
