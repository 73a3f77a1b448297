package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// listWABAs pages through every WABA with limit and returns the ids in the order the store gave them.
func listWABAs(t *testing.T, s onboarding.Store, limit int) []string {
	t.Helper()
	return pageAll(t, fmt.Sprintf("ListWABAs(limit %d)", limit), limit, func(cursor string) ([]string, string, error) {
		return s.ListWABAs(context.Background(), limit, cursor)
	})
}

func testListWABAs(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	empty, next, err := s.ListWABAs(ctx, 10, "")
	must(t, err)
	if len(empty) != 0 || next != "" {
		t.Fatalf("ListWABAs of an empty store: got %v, next %q; want none", empty, next)
	}
	// Seven WABAs with one to four records each, created interleaved and out of time order, with and
	// without phones, in every status: each WABA is listed once.
	var want []string
	for i := range 7 {
		waba := fmt.Sprintf("1022901293404%02d", i)
		want = append(want, waba)
		for j := range 1 + i%4 {
			phone := ""
			if j%2 == 0 {
				phone = fmt.Sprintf("1065403522429%d%d", i, j)
			}
			r := newRecord(waba, phone, at(time.Duration((7-i)*10+j)*time.Minute))
			mustCreate(t, s, r)
			switch j {
			case 1:
				failRecord(t, r, at(time.Hour))
				mustUpdate(t, s, r)
			case 2:
				r.Offboard(at(time.Hour))
				mustUpdate(t, s, r)
			}
		}
	}
	slices.Sort(want)
	for _, limit := range []int{1, 2, 3, 7, 8, onboarding.MaxListLimit} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listWABAs(t, s, limit)
			sorted := slices.Sorted(slices.Values(got))
			if !slices.Equal(sorted, want) {
				t.Fatalf("WABAs listed:\n got %v\nwant %v (in any order, each once)", got, want)
			}
		})
	}
	t.Run("cursor reused", func(t *testing.T) {
		first, next, err := s.ListWABAs(ctx, 3, "")
		must(t, err)
		a, _, err := s.ListWABAs(ctx, 3, next)
		must(t, err)
		b, _, err := s.ListWABAs(ctx, 3, next)
		must(t, err)
		if !slices.Equal(a, b) {
			t.Errorf("the same cursor twice: got %v then %v", a, b)
		}
		for _, w := range a {
			if slices.Contains(first, w) {
				t.Errorf("second page repeats %s of the first page %v", w, first)
			}
		}
	})
	t.Run("bad limit", func(t *testing.T) {
		for _, limit := range []int{0, -1, onboarding.MaxListLimit + 1} {
			if _, _, err := s.ListWABAs(ctx, limit, ""); err == nil {
				t.Errorf("ListWABAs(limit %d): got no error", limit)
			}
		}
	})
	t.Run("invalid cursor", func(t *testing.T) {
		for _, c := range []string{"!!!", "not a cursor", onboarding.ListCursor(t0, onboarding.NewID()) + "#"} {
			_, _, err := s.ListWABAs(ctx, 3, c)
			wantIs(t, err, onboarding.ErrInvalidCursor)
		}
	})
}
