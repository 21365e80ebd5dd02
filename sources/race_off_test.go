//go:build !race

package sources_test

// raceEnabled reports whether the tests run under the race detector, which
// shadows every allocation with memory of its own (see memory bounds).
const raceEnabled = false
