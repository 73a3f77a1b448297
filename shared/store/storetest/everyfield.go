package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// testEveryField fills every exported field of onboarding.Record, recursively (steps and their errors,
// progress, pointed-to times, ...), with distinct non-zero values by reflection, and checks that Create, Get,
// FindByPhone, FindByWABA and Update keep every one of them. A field added to the domain that an adapter
// does not persist fails here without anyone having to remember to extend a test. Version is left to the
// store. It also checks that the store shares no memory with its callers, pointers included.
func testEveryField(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	build := func(seed int) *onboarding.Record {
		r := &onboarding.Record{}
		f := &filler{t: t, n: seed}
		f.fill("Record", reflect.ValueOf(r).Elem())
		r.Version = 0
		return r
	}
	r := build(1)
	mustCreate(t, s, r)
	wantVersion(t, "Version after Create", r, 1)
	want := build(1)
	want.Version = 1

	// Changing the caller's record in place, through its pointers and slices, must not change the stored one.
	(&filler{t: t, n: 5000}).fill("Record", reflect.ValueOf(r).Elem())

	got := mustGet(t, s, want.ID)
	assertSame(t, "Get", got, want)
	// Nor may changing a record the store returned.
	(&filler{t: t, n: 6000}).fill("Record", reflect.ValueOf(got).Elem())
	assertSame(t, "Get after changing a returned record", mustGet(t, s, want.ID), want)

	byPhone, err := s.FindByPhone(ctx, want.PhoneNumberID)
	must(t, err)
	assertSame(t, "FindByPhone", byPhone, want)
	byWABA, err := s.FindByWABA(ctx, want.WABAID, 0)
	must(t, err)
	assertSame(t, "FindByWABA", byWABA, []*onboarding.Record{want})
	byCustomer, _, err := s.ListByCustomer(ctx, want.CustomerRef, "", onboarding.MaxListLimit, "")
	must(t, err)
	assertSame(t, "ListByCustomer", byCustomer, []*onboarding.Record{want})

	// Update writes every field as well: refill with other values, keeping what cannot change.
	next := build(10000)
	next.ID, next.WABAID, next.PhoneNumberID, next.CustomerRef, next.Version = want.ID, want.WABAID, want.PhoneNumberID, want.CustomerRef, 1
	mustUpdate(t, s, next)
	wantNext := build(10000)
	wantNext.ID, wantNext.WABAID, wantNext.PhoneNumberID, wantNext.CustomerRef, wantNext.Version = want.ID, want.WABAID, want.PhoneNumberID, want.CustomerRef, 2
	assertSame(t, "Get after Update", mustGet(t, s, want.ID), wantNext)
}

// filler sets every exported field it reaches to a non-zero value, a different one each time (bools are
// true). Pointers, slices and maps that are nil are allocated; existing ones are filled in place, so that a
// refill also changes what a record shares with others. A field of a kind it does not know fails the test,
// so that a new kind of domain field makes the filler grow rather than be skipped silently.
type filler struct {
	t *testing.T
	n int
}

// fillZone is not UTC, so a store that keeps the clock reading but loses the instant shows.
var fillZone = time.FixedZone("UTC+05:30", 5*3600+30*60)

var timeType = reflect.TypeFor[time.Time]()

func (f *filler) next() int { f.n++; return f.n }

func (f *filler) fill(path string, v reflect.Value) {
	f.t.Helper()
	if v.Type() == timeType {
		n := f.next()
		// Distinct seconds and nanoseconds, the fraction with a trailing zero.
		v.Set(reflect.ValueOf(t0.Add(time.Duration(n)*time.Second + time.Duration(n)*10).In(fillZone)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", f.next()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.next()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.next()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.next()) + 0.5)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		f.fill(path, v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := range v.Len() {
			f.fill(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			f.t.Fatalf("filler: %s: map key kind %s is not supported; extend storetest's filler", path, v.Type().Key().Kind())
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(path+"[key]", k)
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(fmt.Sprintf("%s[%q]", path, k.String()), e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				f.t.Fatalf("filler: %s.%s: unexported field in a domain struct; extend storetest's filler", path, sf.Name)
			}
			f.fill(path+"."+sf.Name, v.Field(i))
		}
	default:
		f.t.Fatalf("filler: %s: kind %s is not supported; extend storetest's filler", path, v.Kind())
	}
}

// normalizeTimes sets every time.Time reachable from v to UTC.
func normalizeTimes(v reflect.Value) {
	if v.Type() == timeType {
		if v.CanSet() {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeTimes(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalizeTimes(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			normalizeTimes(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalizeTimes(v.Field(i))
			}
		}
	}
}

// diffValues appends "path: got X, want Y" for every leaf that differs.
func diffValues(path string, g, w reflect.Value, out *[]string) {
	if g.Type() == timeType {
		if gt, wt := g.Interface().(time.Time), w.Interface().(time.Time); !gt.Equal(wt) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano)))
		}
		return
	}
	switch g.Kind() {
	case reflect.Pointer:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: got nil=%t, want nil=%t", path, g.IsNil(), w.IsNil()))
			}
			return
		}
		diffValues(path, g.Elem(), w.Elem(), out)
	case reflect.Slice:
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range g.Len() {
			diffValues(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i), out)
		}
	case reflect.Struct:
		for i := range g.NumField() {
			if g.Type().Field(i).IsExported() {
				diffValues(path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i), out)
			}
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}
