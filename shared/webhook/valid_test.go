package webhook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"space only", " \n\t\r"},
		{"empty object", "{}"},
		{"empty array", " [ ] "},
		{"notification", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"a":[1,-2.5e+3,true,false,null,"x"]}}]}]}`},
		{"nested empty", `[[],{},[{}],{"a":[]}]`},
		{"string escapes", `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"non-hex unicode escape", `"\u12G4"`},
		{"unterminated string", `"abc`},
		{"backslash at the end", `"abc\`},
		{"control character in a string", "\"a\tb\""},
		{"DEL and invalid UTF-8 in a string", "\"\x7f\xff\xfe\""},
		{"numbers", `[0,-0,1,-1,10,1.5,1e5,1E-5,1.5e+10,-0.0]`},
		{"leading zero", `01`},
		{"lone minus", `-`},
		{"plus sign", `+1`},
		{"bare fraction", `.5`},
		{"dot without digits", `1.`},
		{"exponent without digits", `1e`},
		{"exponent sign only", `1e+`},
		{"literals", `[true,false,null]`},
		{"truncated literal", `tru`},
		{"literal with suffix", `nullx`},
		{"capital literal", `True`},
		{"trailing comma in array", `[1,]`},
		{"trailing comma in object", `{"a":1,}`},
		{"missing comma", `[1 2]`},
		{"missing colon", `{"a" 1}`},
		{"key not a string", `{1:2}`},
		{"unclosed object", `{"a":1`},
		{"unclosed array", `[1`},
		{"mismatched closer", `[1}`},
		{"extra closer", `[1]]`},
		{"two values", `1 2`},
		{"trailing data", `{} x`},
		{"leading comma", `[,1]`},
		{"colon in array", `[1:2]`},
		{"NUL after the value", "{}\x00"},
		{"byte order mark", "\xef\xbb\xbf{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := validJSON([]byte(tt.in)), json.Valid([]byte(tt.in)); got != want {
				t.Errorf("validJSON(%q): got %v, want %v (encoding/json.Valid)", tt.in, got, want)
			}
		})
	}
}

func TestValidJSONDepth(t *testing.T) {
	for _, depth := range []int{maxNestingDepth - 1, maxNestingDepth, maxNestingDepth + 1} {
		for _, shape := range []struct{ name, open, close string }{
			{"arrays", "[", "]"},
			{"objects", `{"a":`, "}"},
		} {
			// The innermost container is empty: it counts toward the depth as encoding/json counts it.
			in := strings.Repeat(shape.open, depth-1) + "[]" + strings.Repeat(shape.close, depth-1)
			if got, want := validJSON([]byte(in)), json.Valid([]byte(in)); got != want {
				t.Errorf("%s nested %d deep: got %v, want %v (encoding/json.Valid)", shape.name, depth, got, want)
			}
		}
	}
}

// FuzzValidJSON: validJSON and encoding/json.Valid agree on every input, so Parse's scanner, which relies on
// valid input, sees exactly what it saw when encoding/json validated for it.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,-2.5e3,"a\u00e9",true,null]`, `{"a":{"b":[{}]}}`, `"\x"`, `01`, `[1,]`, "\"\xff\"", `1e+`} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q): got %v, want %v (encoding/json.Valid)", b, got, want)
		}
	})
}
