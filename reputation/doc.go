// Package reputation scores the reputation of an IP address block from the
// answers of many [Source]s and explains the result.
package reputation
