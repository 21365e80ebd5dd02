// Package htmlreport renders [reputation.Report]s as one self-contained HTML
// page that people can look at, print and forward.
//
// # Usage
//
//	reps, err := scorer.ScoreAll(ctx, blocks)
//	...
//	err = htmlreport.Write(f, reps, htmlreport.Options{})
//
// [WriteIndex] renders an index of many blocks with links to their pages, as
// a re-scoring job keeps.
//
// # The page
//
// Per block: a verdict banner (verdict, score, policy version, date), the
// reasons in words, a plain statement of what the report cannot tell (nothing
// checked, interrupted, sampled), the heat map, the sources with their status
// (unusable zones marked and explained), the subnets of a large block, the
// listings with delisting links (and how many the report left out),
// the lookups that got no answer, and the seed and sampling. With several
// blocks a summary table links to each block's section.
//
// The heat map is inline SVG, one <rect> per cell with attributes data-state
// (clean, listed, critical, unknown, unchecked) and data-prefix, and a <title>
// naming the cell and its listings: one cell per address up to a /16 (a /24 is
// 16×16, a /16 256×256), one per /24 for larger IPv4 blocks, one per checked
// /64 for sampled IPv6 blocks, in address order. A report whose listings were
// cut short by [reputation.Scorer.MaxListings] cannot say which addresses the
// left-out entries name, so its map has one cell per subnet of
// [reputation.Report.Subnets] (a /24 or a /48), whose counts are exact, and says
// so. Colours are colour-blind safe and differ in lightness; unknown cells are
// hatched.
//
// Which addresses a sampled block checked is not in the report: the map
// draws the sample again with package prefix from the report's prefix,
// seed and count of checked addresses, as the Scorer draws it, and uses the
// draw only if every address the report names lies in it.
//
// The reports' JSON is embedded as <script type="application/json"
// id="prefixvet-report">, exactly as json.Marshal writes it (a single
// object for one report, an array otherwise), so the page is machine-readable.
//
// The page loads nothing: styles and the small optional script are inline
// and allowed by hash in a Content-Security-Policy that forbids everything
// else. It is complete with JavaScript off and prints on A4.
//
// # Concurrency
//
// Write and WriteIndex may be called concurrently; they only read the
// reports.
package htmlreport
