package statemachine

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func evalIntrinsic(t *testing.T, expr, input string) (any, error) {
	t.Helper()
	call, err := parseIntrinsic(expr)
	if err != nil {
		t.Fatalf("parseIntrinsic(%q): %v", expr, err)
	}
	en := &env{ctxObj: map[string]any{"State": map[string]any{"Name": "S"}}}
	return call.eval(mustJSON(t, input), en)
}

// The examples are those of the AWS documentation for intrinsic functions, plus edge cases.
func TestIntrinsics(t *testing.T) {
	tests := []struct {
		name, expr, input, want string
	}{
		{"Format literal", "States.Format('Hello, my name is {}.', $.name)", `{"name":"Arnav"}`, `"Hello, my name is Arnav."`},
		{"Format from path", "States.Format($.template, $.name)", `{"name":"Arnav","template":"Hello, my name is {}."}`, `"Hello, my name is Arnav."`},
		{"Format escapes", `States.Format('\{\} \'q\' \\ {}', 'x')`, `{}`, `"{} 'q' \\ x"`},
		{"Format value types", "States.Format('{}|{}|{}|{}', 1.50, true, null, -3)", `{}`, `"1.50|true|null|-3"`},
		{"Format no placeholders", "States.Format('plain')", `{}`, `"plain"`},
		{"Format context", "States.Format('in {}', $$.State.Name)", `{}`, `"in S"`},
		{"StringToJson", "States.StringToJson($.escapedJsonString)", `{"escapedJsonString":"{\"foo\": \"bar\"}"}`, `{"foo":"bar"}`},
		{"StringToJson number", "States.StringToJson('12.5')", `{}`, `12.5`},
		{"JsonToString", "States.JsonToString($.unescapedJson)", `{"unescapedJson":{"foo":"bar"}}`, `"{\"foo\":\"bar\"}"`},
		{"JsonToString keeps < >", "States.JsonToString($.v)", `{"v":"<a&b>"}`, `"\"<a&b>\""`},
		{"Array", "States.Array($.Id)", `{"Id":123456}`, `[123456]`},
		{"Array mixed", "States.Array('a', 1, true, null, States.Array())", `{}`, `["a",1,true,null,[]]`},
		{"ArrayPartition", "States.ArrayPartition($.inputArray, 4)", `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, `[[1,2,3,4],[5,6,7,8],[9]]`},
		{"ArrayPartition empty", "States.ArrayPartition($.a, 2)", `{"a":[]}`, `[]`},
		{"ArrayContains", "States.ArrayContains($.inputArray, $.lookingFor)", `{"inputArray":[1,2,3,4,5,6,7,8,9],"lookingFor":5}`, `true`},
		{"ArrayContains object", "States.ArrayContains($.a, $.v)", `{"a":[{"k":[1,2]}],"v":{"k":[1,2.0]}}`, `true`},
		{"ArrayContains type", "States.ArrayContains($.a, '1')", `{"a":[1]}`, `false`},
		{"ArrayRange", "States.ArrayRange(1, 9, 2)", `{}`, `[1,3,5,7,9]`},
		{"ArrayRange down", "States.ArrayRange(5, 1, -2)", `{}`, `[5,3,1]`},
		{"ArrayRange empty", "States.ArrayRange(5, 1, 1)", `{}`, `[]`},
		{"ArrayGetItem", "States.ArrayGetItem($.inputArray, $.index)", `{"inputArray":[1,2,3,4,5,6,7,8,9],"index":5}`, `6`},
		{"ArrayLength", "States.ArrayLength($.inputArray)", `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, `9`},
		{"ArrayUnique", "States.ArrayUnique($.inputArray)", `{"inputArray":[1,2,3,3,3,3,3,3,4]}`, `[1,2,3,4]`},
		{"Base64Encode", "States.Base64Encode($.input)", `{"input":"Data to encode"}`, `"RGF0YSB0byBlbmNvZGU="`},
		{"Base64Decode", "States.Base64Decode($.base64)", `{"base64":"RGF0YSB0byBlbmNvZGU="}`, `"Data to encode"`},
		{"Hash SHA-1", "States.Hash($.Data, $.Algorithm)", `{"Data":"input data","Algorithm":"SHA-1"}`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{"Hash MD5", "States.Hash('', 'MD5')", `{}`, `"d41d8cd98f00b204e9800998ecf8427e"`},
		{"Hash SHA-256", "States.Hash('abc', 'SHA-256')", `{}`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{"JsonMerge", "States.JsonMerge($.json1, $.json2, false)", `{"json1":{"a":{"a1":1,"a2":2},"b":2},"json2":{"a":{"a3":1,"a4":2},"c":3}}`, `{"a":{"a3":1,"a4":2},"b":2,"c":3}`},
		{"MathAdd", "States.MathAdd($.value1, $.step)", `{"value1":111,"step":-1}`, `110`},
		{"MathAdd rounds", "States.MathAdd($.a, 1)", `{"a":1.5}`, `3`},
		{"MathAdd rounds half up", "States.MathAdd($.a, 0)", `{"a":-2.5}`, `-2`},
		{"StringSplit", "States.StringSplit($.inputString, $.splitter)", `{"inputString":"1,2,3,4,5","splitter":","}`, `["1","2","3","4","5"]`},
		{"StringSplit many delimiters", "States.StringSplit($.inputString, $.splitter)", `{"inputString":"This.is+a,test=string","splitter":".+,="}`, `["This","is","a","test","string"]`},
		{"StringSplit drops empties", "States.StringSplit(',a,,b,', ',')", `{}`, `["a","b"]`},
		{"nested", "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), States.ArrayLength(States.StringSplit($.arn, '/')))", `{"arn":"arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe/1.0.0"}`, `"my-recipe.3"`},
		{"spaces between arguments", "States.Array( 1 ,  $.a )", `{"a":2}`, `[1,2]`},
		{"quoted path argument with comma", "States.Array($['a,b'])", `{"a,b":1}`, `[1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalIntrinsic(t, tt.expr, tt.input)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !jsonEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", jsonString(got), tt.want)
			}
		})
	}
}

func TestIntrinsicFailures(t *testing.T) {
	tests := []struct {
		name, expr, input, wantErr, want string
	}{
		{"Format too few values", "States.Format('{} {}', 1)", `{}`, ErrorIntrinsicFailure, "more {} placeholders"},
		{"Format too many values", "States.Format('{}', 1, 2)", `{}`, ErrorIntrinsicFailure, "1 {} placeholder(s) but 2"},
		{"Format object value", "States.Format('{}', $.o)", `{"o":{}}`, ErrorIntrinsicFailure, "got object"},
		{"Format template not string", "States.Format($.n)", `{"n":1}`, ErrorIntrinsicFailure, "must be a string"},
		{"StringToJson invalid", "States.StringToJson($.s)", `{"s":"{nope"}`, ErrorIntrinsicFailure, "not valid JSON"},
		{"ArrayGetItem out of bounds", "States.ArrayGetItem($.a, 3)", `{"a":[1]}`, ErrorIntrinsicFailure, "out of bounds"},
		{"ArrayGetItem negative", "States.ArrayGetItem($.a, -1)", `{"a":[1]}`, ErrorIntrinsicFailure, "out of bounds"},
		{"ArrayGetItem fraction", "States.ArrayGetItem($.a, 0.5)", `{"a":[1]}`, ErrorIntrinsicFailure, "must be an integer"},
		{"ArrayLength of object", "States.ArrayLength($.a)", `{"a":{}}`, ErrorIntrinsicFailure, "must be an array"},
		{"ArrayPartition zero", "States.ArrayPartition($.a, 0)", `{"a":[1]}`, ErrorIntrinsicFailure, "positive"},
		{"ArrayRange step zero", "States.ArrayRange(1, 2, 0)", `{}`, ErrorIntrinsicFailure, "must not be 0"},
		{"ArrayRange too long", "States.ArrayRange(1, 1001, 1)", `{}`, ErrorIntrinsicFailure, "more than 1000"},
		{"Base64Decode invalid", "States.Base64Decode('%%%')", `{}`, ErrorIntrinsicFailure, "not valid base64"},
		{"Base64Encode too long", "States.Base64Encode($.s)", `{"s":"` + strings.Repeat("x", 10001) + `"}`, ErrorIntrinsicFailure, "longer than 10000"},
		{"Hash algorithm", "States.Hash('a', 'SHA-3')", `{}`, ErrorIntrinsicFailure, "unsupported hash algorithm"},
		{"JsonMerge deep", "States.JsonMerge($.a, $.b, true)", `{"a":{},"b":{}}`, ErrorIntrinsicFailure, "only shallow merging"},
		{"JsonMerge not object", "States.JsonMerge($.a, $.b, false)", `{"a":[],"b":{}}`, ErrorIntrinsicFailure, "must be an object"},
		{"MathAdd string", "States.MathAdd($.a, 1)", `{"a":"1"}`, ErrorIntrinsicFailure, "must be a number"},
		{"MathAdd range", "States.MathAdd($.a, 1)", `{"a":2147483648}`, ErrorIntrinsicFailure, "outside the range"},
		{"MathRandom empty range", "States.MathRandom(5, 5)", `{}`, ErrorIntrinsicFailure, "greater than the start"},
		{"StringSplit number", "States.StringSplit($.a, ',')", `{"a":1}`, ErrorIntrinsicFailure, "must be a string"},
		{"missing path argument", "States.Array($.missing)", `{}`, ErrorRuntime, "The JSONPath $.missing"},
		{"nested failure keeps its name", "States.Array(States.ArrayGetItem($.a, 9))", `{"a":[]}`, ErrorIntrinsicFailure, "States.ArrayGetItem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evalIntrinsic(t, tt.expr, tt.input)
			var se *stateError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a %s", err, tt.wantErr)
			}
			if se.Name != tt.wantErr || !strings.Contains(se.Cause, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", se.Name, se.Cause, tt.wantErr, tt.want)
			}
		})
	}
}

func TestParseIntrinsicRejects(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"States.Nope()", "unknown intrinsic function"},
		{"States.Format", "expected '('"},
		{"States.Format('a'", "missing ')'"},
		{"States.Format('a') x", "unexpected"},
		{"States.Format('a\\qb')", "open escape"},
		{"States.Format('unterminated)", "unterminated string"},
		{"States.UUID(1)", "takes 0 argument(s)"},
		{"States.Array(1,)", "unexpected"},
		{"States.Array(@)", "unexpected"},
		{"States.Array($..a)", "recursive descent"},
		{"States.Array(1.2.3)", "invalid number"},
		{"States.Array(truth)", "unexpected"},
		{"States.JsonToString('x')", "must be a path or an intrinsic function, not a literal"},
		{"States.JsonMerge($.a, $.b, 'no')", "must be a boolean"},
		{"States.Hash($.a, 5)", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := parseIntrinsic(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseIntrinsic(%q) = %v, want an error mentioning %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestIntrinsicUUIDAndRandom(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := evalIntrinsic(t, "States.UUID()", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := evalIntrinsic(t, "States.UUID()", `{}`)
	if s, _ := a.(string); !uuidRE.MatchString(s) || a == b {
		t.Errorf("UUIDs %v and %v: want two different version 4 UUIDs", a, b)
	}
	for range 100 {
		v, err := evalIntrinsic(t, "States.MathRandom(1, 10)", `{}`)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := toInt(v)
		if !ok || n < 1 || n >= 10 {
			t.Fatalf("MathRandom(1, 10) = %v, want an integer in [1, 10)", v)
		}
	}
	s1, _ := evalIntrinsic(t, "States.MathRandom(0, 1000000, 7)", `{}`)
	s2, _ := evalIntrinsic(t, "States.MathRandom(0, 1000000, 7)", `{}`)
	if !jsonEqual(s1, s2) {
		t.Errorf("seeded MathRandom gave %v then %v, want the same value", s1, s2)
	}
}
