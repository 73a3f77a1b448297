package onboarding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverRenders(t *testing.T) {
	const value = "EAAsupersecretvalue1234567890"
	s := NewSecret(value)
	type exported struct{ Token Secret }
	type unexported struct{ token Secret }
	renders := map[string]string{
		"%v":                   fmt.Sprintf("%v", s),
		"%s":                   fmt.Sprintf("%s", s), //lint:ignore S1025 the %s verb itself is under test
		"%q":                   fmt.Sprintf("%q", s),
		"%x":                   fmt.Sprintf("%x", s),
		"%#v":                  fmt.Sprintf("%#v", s),
		"%+v":                  fmt.Sprintf("%+v", s),
		"struct %v":            fmt.Sprintf("%v", exported{s}),
		"struct %+v":           fmt.Sprintf("%+v", exported{s}),
		"unexported %v":        fmt.Sprintf("%v", unexported{s}),
		"unexported %+v":       fmt.Sprintf("%+v", unexported{s}),
		"unexported %#v":       fmt.Sprintf("%#v", unexported{s}),
		"pointer to struct %v": fmt.Sprintf("%v", &unexported{s}),
		"slice %v":             fmt.Sprintf("%v", []Secret{s}),
		"map %v":               fmt.Sprintf("%v", map[string]Secret{"k": s}),
	}
	b, _ := json.Marshal(exported{s})
	renders["json"] = string(b)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", s, "nested", exported{s})
	renders["slog"] = buf.String()
	for name, out := range renders {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s rendered the secret: %s", name, out)
		}
	}
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal: got %q, want %q", got, value)
	}
	if !NewSecret("").IsZero() || (Secret{}).Reveal() != "" || !s.Equal(NewSecret(value)) || s.Equal(NewSecret("other")) {
		t.Errorf("IsZero/Reveal/Equal misbehave")
	}
}
