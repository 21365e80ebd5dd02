package sources

// Reading zone definitions ([ZoneInfo] values) from a JSON file: a
// user's own zones next to the catalog.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxZoneFileSize is the largest zone file [ReadZoneInfos] accepts.
const MaxZoneFileSize = 4 << 20

// ReadZoneInfos reads user-defined zones from r: a JSON array of objects in
// the JSON form of [ZoneInfo], for example
//
//	[{"zone": "bl.example.org", "ipv4": true,
//	  "codes": [{"code": "127.0.0.2", "category": "spam", "severity": "high", "scope": "address"}],
//	  "errors": [{"prefix": "127.255.255.254/32", "kind": "refused"}]}]
//
// Unknown fields are rejected. When an entry sets neither "ipv4" nor "ipv6",
// it answers for IPv4. Each entry must pass [ZoneInfo.Validate], zones and
// aliases must be distinct, and an entry must not name a zone that the
// catalog knows to be dead. A file larger than [MaxZoneFileSize] is refused.
//
// ReadZoneInfos returns every zone, or nil and an error: the [errors.Join]
// of one [*ZoneError] per problem, each naming the line of its entry and the
// field. A file with any error yields no zones, so a mistake never silently
// drops a zone from a run.
func ReadZoneInfos(r io.Reader) ([]ZoneInfo, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxZoneFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxZoneFileSize {
		return nil, &ZoneError{Err: fmt.Errorf("zone file larger than %d bytes", MaxZoneFileSize)}
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte{'\n'}) }
	syntax := func(off int64, err error) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			return &ZoneError{Line: lineAt(te.Offset), Field: te.Field, Err: err}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			off = int64(len(data))
		}
		return &ZoneError{Line: lineAt(off), Err: err}
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(dec.InputOffset(), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &ZoneError{Line: lineAt(dec.InputOffset()), Err: errors.New("a zone file is a JSON array of zone objects")}
	}
	var zones []ZoneInfo
	var lines []int
	var errs []error
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.Join(append(errs, syntax(start, err))...)
		}
		line := lineAt(dec.InputOffset() - int64(len(raw)))
		z, err := decodeZone(raw)
		if err != nil {
			errs = append(errs, &ZoneError{Line: line, Field: fieldOf(err), Err: err})
			continue
		}
		if err := z.Validate(); err != nil {
			errs = append(errs, withLine(err, line)...)
			continue
		}
		zones = append(zones, z)
		lines = append(lines, line)
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.Join(append(errs, syntax(dec.InputOffset(), err))...)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		errs = append(errs, &ZoneError{Line: lineAt(dec.InputOffset()), Err: errors.New("data after the zone array")})
	}
	errs = append(errs, checkNames(zones, lines)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if zones == nil {
		zones = []ZoneInfo{}
	}
	return zones, nil
}

// decodeZone decodes one entry, rejecting unknown fields and defaulting the
// address family to IPv4.
func decodeZone(raw []byte) (ZoneInfo, error) {
	var z ZoneInfo
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&z); err != nil {
		return ZoneInfo{}, err
	}
	var fam struct {
		IPv4 *bool `json:"ipv4"`
		IPv6 *bool `json:"ipv6"`
	}
	if err := json.Unmarshal(raw, &fam); err == nil && fam.IPv4 == nil && fam.IPv6 == nil {
		z.IPv4 = true
	}
	return z, nil
}

// fieldOf returns the JSON field named by a decoding error, if any.
func fieldOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// withLine returns the errors joined in err, each a *ZoneError with Line set.
func withLine(err error, line int) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ze *ZoneError
		if errors.As(e, &ze) {
			c := *ze
			c.Line = line
			out = append(out, &c)
			return
		}
		out = append(out, &ZoneError{Line: line, Err: e})
	}
	walk(err)
	return out
}

// checkNames reports duplicate zones and aliases, and zones the catalog
// knows to be dead.
func checkNames(zones []ZoneInfo, lines []int) []error {
	var errs []error
	seen := map[string]string{} // lower-cased name -> owning zone
	for i, z := range zones {
		if _, err := LookupZone(z.Zone); errors.Is(err, ErrDeadList) {
			errs = append(errs, &ZoneError{Line: lines[i], Zone: z.Zone, Field: "zone", Err: err})
		}
		names := append([]string{z.Zone}, z.Aliases...)
		for j, n := range names {
			k := strings.ToLower(n)
			if owner, dup := seen[k]; dup {
				field := "zone"
				if j > 0 {
					field = fmt.Sprintf("aliases[%d]", j-1)
				}
				errs = append(errs, &ZoneError{Line: lines[i], Zone: z.Zone, Field: field, Err: fmt.Errorf("%q is already used by zone %q", n, owner)})
				continue
			}
			seen[k] = z.Zone
		}
	}
	return errs
}
