package main

import (
	"encoding/json"
	"net/netip"
	"testing"
)

// listing is one listing of a synthetic vet report.
type listing struct {
	Address netip.Addr   `json:"address,omitzero"`
	Prefix  netip.Prefix `json:"prefix,omitzero"`
	Source  string       `json:"source"`
	Codes   []netip.Addr `json:"codes"`
	Reason  string       `json:"reason,omitempty"`
}

// fakeOutput returns what vet -json prints for the benchmark data when
// every answer is right: one report per block, each zone's /26 as one
// prefix listing and every other listed address alone. edit may change
// the listings of each block first.
func fakeOutput(t *testing.T, txt bool, edit func(block int, ls []listing) []listing) []byte {
	t.Helper()
	var out []byte
	for b, p := range blockPrefixes() {
		var ls []listing
		for z := range nZones {
			for i := b * 1024; i < (b+1)*1024; i++ {
				code, ok := expected(z, i)
				switch {
				case !ok:
				case inRange(z, i) && i%64 == 0:
					ls = append(ls, listing{Prefix: netip.PrefixFrom(addr(i), 26), Source: zoneName(z), Codes: []netip.Addr{code}, Reason: reasonOf(z, i, txt)})
				case !inRange(z, i):
					ls = append(ls, listing{Address: addr(i), Source: zoneName(z), Codes: []netip.Addr{code}, Reason: reasonOf(z, i, txt)})
				}
			}
		}
		if edit != nil {
			ls = edit(b, ls)
		}
		line, err := json.Marshal(map[string]any{"prefix": p, "listings": ls})
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, line...), '\n')
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		txt, checkTXT       bool
		edit                func(int, []listing) []listing
		wantWrong, wantMiss int
		wantSome            bool // wrong and missing both above 0, counts not fixed
	}{
		{name: "all_right", txt: false, checkTXT: false},
		{name: "all_right_txt", txt: true, checkTXT: true},
		{name: "one_missing", edit: func(b int, ls []listing) []listing {
			if b == 2 {
				return ls[1:]
			}
			return ls
		}, wantMiss: 1},
		{name: "range_missing", edit: func(b int, ls []listing) []listing {
			for k, l := range ls {
				if b == 0 && l.Prefix.IsValid() {
					return append(ls[:k:k], ls[k+1:]...)
				}
			}
			return ls
		}, wantMiss: 64},
		{name: "wrong_code", edit: func(b int, ls []listing) []listing {
			if b == 1 {
				ls[0].Codes = []netip.Addr{netip.MustParseAddr("127.0.0.99")}
			}
			return ls
		}, wantWrong: 1, wantMiss: 1},
		{name: "unlisted_address", edit: func(b int, ls []listing) []listing {
			if b == 3 {
				ls = append(ls, listing{Address: addr(3*1024 + 1), Source: zoneName(0), Codes: []netip.Addr{netip.MustParseAddr("127.0.0.2")}})
			}
			return ls
		}, wantWrong: 1},
		// Every listing lacks its TXT reason: each is wrong, so its
		// addresses are missing too.
		{name: "reason_missing", txt: false, checkTXT: true, wantSome: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wrong, missing, example, err := check(fakeOutput(t, tc.txt, tc.edit), tc.checkTXT)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSome {
				if wrong == 0 || missing == 0 {
					t.Errorf("check = %d wrong, %d missing, want both > 0", wrong, missing)
				}
				return
			}
			if wrong != tc.wantWrong || missing != tc.wantMiss {
				t.Errorf("check = %d wrong, %d missing (first: %s), want %d, %d", wrong, missing, example, tc.wantWrong, tc.wantMiss)
			}
		})
	}
}

func TestCheck_blocks(t *testing.T) {
	t.Parallel()
	out := fakeOutput(t, false, nil)
	// Drop the last report: the blocks no longer match.
	lines := 0
	for k, c := range out {
		if c == '\n' {
			lines++
			if lines == 3 {
				out = out[:k+1]
				break
			}
		}
	}
	if _, _, _, err := check(out, false); err == nil {
		t.Error("check of three reports for four blocks: no error")
	}
}
