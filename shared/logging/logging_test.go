package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

const secretValue = "EAAGm0PX4ZCpsBAKZCSECRETVALUE"

// lines decodes the JSON lines written to b.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// one logs with fn and returns the only line written.
func one(t *testing.T, fn func(log *slog.Logger)) (map[string]any, string) {
	t.Helper()
	var b bytes.Buffer
	fn(logging.New(&b, slog.LevelDebug))
	raw := b.String()
	ls := lines(t, &b)
	if len(ls) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(ls), raw)
	}
	return ls[0], raw
}

func TestContextIDs(t *testing.T) {
	base := context.Background()
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		onboarding string
		request    string
	}{
		{"none", base, "", ""},
		{"onboarding only", logging.WithOnboardingID(base, "ob-1"), "ob-1", ""},
		{"request only", logging.WithRequestID(base, "req-1"), "", "req-1"},
		{"both", logging.WithRequestID(logging.WithOnboardingID(base, "ob-1"), "req-1"), "ob-1", "req-1"},
		{"innermost wins", logging.WithOnboardingID(logging.WithOnboardingID(base, "ob-1"), "ob-2"), "ob-2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logging.OnboardingID(tc.ctx); got != tc.onboarding {
				t.Errorf("OnboardingID: got %q, want %q", got, tc.onboarding)
			}
			if got := logging.RequestID(tc.ctx); got != tc.request {
				t.Errorf("RequestID: got %q, want %q", got, tc.request)
			}
			// Every way of logging carries both ids, empty when the context has none.
			for _, how := range []struct {
				name string
				log  func(*slog.Logger)
			}{
				{"InfoContext", func(l *slog.Logger) { l.InfoContext(tc.ctx, "hello", "k", "v") }},
				{"ErrorContext", func(l *slog.Logger) { l.ErrorContext(tc.ctx, "hello") }},
				{"With", func(l *slog.Logger) { l.With("component", "x").WarnContext(tc.ctx, "hello") }},
				{"Log", func(l *slog.Logger) { l.Log(tc.ctx, slog.LevelDebug, "hello") }},
				{"LogAttrs", func(l *slog.Logger) { l.LogAttrs(tc.ctx, slog.LevelInfo, "hello", slog.Int("n", 1)) }},
				{"WithGroup", func(l *slog.Logger) { l.WithGroup("g").InfoContext(tc.ctx, "hello", "k", "v") }},
				{"With then WithGroup", func(l *slog.Logger) {
					l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").InfoContext(tc.ctx, "hello", "k", "v")
				}},
			} {
				t.Run(how.name, func(t *testing.T) {
					line, raw := one(t, how.log)
					if got := line[logging.KeyOnboardingID]; got != tc.onboarding {
						t.Errorf("%s: got %v, want %q in %s", logging.KeyOnboardingID, got, tc.onboarding, raw)
					}
					if got := line[logging.KeyRequestID]; got != tc.request {
						t.Errorf("%s: got %v, want %q in %s", logging.KeyRequestID, got, tc.request, raw)
					}
				})
			}
		})
	}
}

// An id the caller logs itself is kept, and not repeated with the context's (often empty) value: a JSON line
// with the key twice loses one of them in most readers.
func TestExplicitIDsAreNotDuplicated(t *testing.T) {
	bare := context.Background()
	withIDs := logging.WithRequestID(logging.WithOnboardingID(bare, "ob-ctx"), "req-ctx")
	for _, tc := range []struct {
		name                string
		log                 func(*slog.Logger)
		onboarding, request string
	}{
		{"record attr, bare context", func(l *slog.Logger) { l.InfoContext(bare, "m", "onboarding_id", "ob-1") }, "ob-1", ""},
		{"record attr wins over the context", func(l *slog.Logger) { l.InfoContext(withIDs, "m", "onboarding_id", "ob-1") }, "ob-1", "req-ctx"},
		{"both record attrs", func(l *slog.Logger) {
			l.LogAttrs(bare, slog.LevelInfo, "m", slog.String("request_id", "req-1"), slog.String("onboarding_id", "ob-1"))
		}, "ob-1", "req-1"},
		{"With", func(l *slog.Logger) { l.With("onboarding_id", "ob-1").InfoContext(withIDs, "m") }, "ob-1", "req-ctx"},
		{"With, then a group", func(l *slog.Logger) { l.With("request_id", "req-1").WithGroup("g").InfoContext(withIDs, "m", "k", 1) }, "ob-ctx", "req-1"},
		{"inside a group is not the top-level id", func(l *slog.Logger) { l.WithGroup("g").InfoContext(withIDs, "m", "onboarding_id", "other") }, "ob-ctx", "req-ctx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, raw := one(t, tc.log)
			for key, want := range map[string]string{logging.KeyOnboardingID: tc.onboarding, logging.KeyRequestID: tc.request} {
				var top map[string]json.RawMessage
				if err := json.Unmarshal([]byte(raw), &top); err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(raw, `"`+key+`":`) - strings.Count(string(top["g"]), `"`+key+`":`); n != 1 {
					t.Errorf("%s: got %d top-level occurrences, want 1: %s", key, n, raw)
				}
				if got := string(top[key]); got != `"`+want+`"` {
					t.Errorf("%s: got %s, want %q: %s", key, got, want, raw)
				}
			}
		})
	}
}

func TestGroupsKeepTheirAttributes(t *testing.T) {
	ctx := logging.WithOnboardingID(context.Background(), "ob-1")
	line, raw := one(t, func(l *slog.Logger) {
		l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").InfoContext(ctx, "hello", "c", 3)
	})
	want := `{"a":1,"g":{"b":2,"h":{"c":3}},"onboarding_id":"ob-1"}`
	got := map[string]any{"a": line["a"], "g": line["g"], "onboarding_id": line["onboarding_id"]}
	gb, _ := json.Marshal(got)
	if string(gb) != want {
		t.Errorf("got %s, want %s (line %s)", gb, want, raw)
	}
}

func TestLevel(t *testing.T) {
	var b bytes.Buffer
	log := logging.New(&b, slog.LevelWarn)
	log.Info("dropped")
	log.WithGroup("g").Debug("dropped")
	log.Warn("kept")
	ls := lines(t, &b)
	if len(ls) != 1 || ls[0]["msg"] != "kept" {
		t.Errorf("at WARN: got %v, want only the line \"kept\"", ls)
	}
}

func TestSecretKeysAreRedacted(t *testing.T) {
	for _, key := range []string{
		"token", "access_token", "AccessToken", "business_token", "system_user_token", "input_token", "verify_token",
		"secret", "app_secret", "client_secret", "previous_app_secret", "password",
		"pin", "PIN", "two_step_pin", "code", "auth_code", "signup_code",
		"authorization", "Authorization", "signature", "x_hub_signature_256",
	} {
		t.Run(key, func(t *testing.T) {
			for _, v := range []struct {
				name string
				attr slog.Attr
			}{
				{"string", slog.String(key, secretValue)},
				{"error", slog.Any(key, errors.New(secretValue))},
				{"bytes", slog.Any(key, []byte(secretValue))},
				{"int", slog.Int(key, 123456)},
			} {
				t.Run(v.name, func(t *testing.T) {
					line, raw := one(t, func(l *slog.Logger) { l.LogAttrs(context.Background(), slog.LevelInfo, "m", v.attr) })
					if got := line[key]; got != "[redacted]" {
						t.Errorf("%s: got %v, want [redacted]", key, got)
					}
					if strings.Contains(raw, secretValue) || strings.Contains(raw, "123456") {
						t.Errorf("line discloses the value: %s", raw)
					}
				})
			}
		})
	}
}

func TestAllowedKeysAreKept(t *testing.T) {
	for _, key := range []string{
		"error_code", "graph_code", "graph_subcode", "status_code", "code_class", "http_status_code",
		"token_expires_at", "pin_source", "code_length", "Error_Code",
	} {
		t.Run(key, func(t *testing.T) {
			line, raw := one(t, func(l *slog.Logger) { l.Info("m", key, "190") })
			if got := line[key]; got != "190" {
				t.Errorf("%s: got %v, want 190 (%s)", key, got, raw)
			}
		})
	}
	for _, key := range []string{"waba_id", "phone_number_id", "message_id", "status", "error"} {
		t.Run("plain/"+key, func(t *testing.T) {
			line, _ := one(t, func(l *slog.Logger) { l.Info("m", key, "x") })
			if got := line[key]; got != "x" {
				t.Errorf("%s: got %v, want x", key, got)
			}
		})
	}
}

// tokenHolder resolves to a group whose member keys say nothing about the secret.
type tokenHolder struct{ v string }

func (h tokenHolder) LogValue() slog.Value {
	return slog.GroupValue(slog.String("value", h.v), slog.Int("length", len(h.v)))
}

func TestSecretsInsideGroupsAreRedacted(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"group attr", func(l *slog.Logger) { l.Info("m", slog.Group("access_token", "value", secretValue)) }},
		{"nested group", func(l *slog.Logger) { l.Info("m", slog.Group("request", slog.Group("app_secret", "v", secretValue))) }},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("secret").Info("m", "value", secretValue) }},
		{"With under WithGroup", func(l *slog.Logger) { l.WithGroup("pin").With("value", secretValue).Info("m") }},
		{"LogValuer group", func(l *slog.Logger) { l.Info("m", "token", tokenHolder{secretValue}) }},
		{"secret member of a plain group", func(l *slog.Logger) { l.Info("m", slog.Group("graph", "access_token", secretValue)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, raw := one(t, tc.log)
			if strings.Contains(raw, secretValue) {
				t.Errorf("line discloses the secret: %s", raw)
			}
			if !strings.Contains(raw, "[redacted]") {
				t.Errorf("line: got %s, want a [redacted] value", raw)
			}
		})
	}
	t.Run("allowed key in a plain group", func(t *testing.T) {
		line, raw := one(t, func(l *slog.Logger) { l.Info("m", slog.Group("graph", "error_code", 190, "fbtrace_id", "A1")) })
		g, _ := line["graph"].(map[string]any)
		if g["error_code"] != float64(190) || g["fbtrace_id"] != "A1" {
			t.Errorf("got %s, want graph.error_code 190 and graph.fbtrace_id A1", raw)
		}
	})
}

func TestOnboardingSecretRendersRedacted(t *testing.T) {
	s := onboarding.NewSecret(secretValue)
	type withSecret struct {
		WABAID string            `json:"waba_id"`
		Token  onboarding.Secret `json:"token"`
	}
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"under a plain key", func(l *slog.Logger) { l.Info("m", "value", s) }},
		{"as an attr value", func(l *slog.Logger) { l.LogAttrs(context.Background(), slog.LevelInfo, "m", slog.Any("v", s)) }},
		{"inside a struct", func(l *slog.Logger) { l.Info("m", "input", withSecret{WABAID: "1", Token: s}) }},
		{"inside a pointer to a struct", func(l *slog.Logger) { l.Info("m", "input", &withSecret{WABAID: "1", Token: s}) }},
		{"in a slice", func(l *slog.Logger) { l.Info("m", "values", []onboarding.Secret{s, s}) }},
		{"in With", func(l *slog.Logger) { l.With("v", s).Info("m") }},
		{"in a group", func(l *slog.Logger) { l.WithGroup("g").Info("m", "v", s) }},
		{"formatted into the message", func(l *slog.Logger) { l.Info("value " + s.String()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, raw := one(t, tc.log)
			if strings.Contains(raw, secretValue) {
				t.Errorf("line discloses the secret: %s", raw)
			}
			if !strings.Contains(raw, "[redacted]") {
				t.Errorf("line: got %s, want a [redacted] value", raw)
			}
		})
	}
}

// The handler follows slog's rules for handlers (groups, empty attrs, resolving values, ...).
func TestHandlerConformance(t *testing.T) {
	var b bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		b.Reset()
		return logging.New(&b, slog.LevelDebug).Handler()
	}, func(t *testing.T) map[string]any {
		ls := lines(t, &b)
		if len(ls) != 1 {
			t.Fatalf("got %d lines, want 1", len(ls))
		}
		m := ls[0]
		// The ids are this handler's own additions on every line.
		for _, k := range []string{logging.KeyOnboardingID, logging.KeyRequestID} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %v: want %s", m, k)
			}
			delete(m, k)
		}
		return m
	})
}

func TestConcurrentLogging(t *testing.T) {
	var (
		mu sync.Mutex
		b  bytes.Buffer
	)
	log := logging.New(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return b.Write(p) }), slog.LevelInfo)
	g := log.WithGroup("g")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx := logging.WithRequestID(context.Background(), "req")
			for range 50 {
				g.InfoContext(ctx, "m", "i", i)
				log.InfoContext(ctx, "m", "token", secretValue)
			}
		})
	}
	wg.Wait()
	ls := lines(t, &b)
	if len(ls) != 8*50*2 {
		t.Fatalf("got %d lines, want %d", len(ls), 8*50*2)
	}
	for _, l := range ls {
		if l[logging.KeyRequestID] != "req" {
			t.Fatalf("line %v: want request_id req", l)
		}
	}
	if strings.Contains(b.String(), secretValue) {
		t.Error("a line discloses the secret")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestDiscard(t *testing.T) {
	log := logging.Discard()
	if log.Enabled(context.Background(), slog.LevelError) {
		t.Error("Discard: got enabled at ERROR, want disabled")
	}
	log.Error("nothing", "token", secretValue) // must not panic
}

func BenchmarkLine(b *testing.B) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo)
	ctx := logging.WithRequestID(logging.WithOnboardingID(context.Background(), "ob-1"), "req-1")
	for _, bc := range []struct {
		name string
		log  *slog.Logger
	}{{"flat", log}, {"grouped", log.WithGroup("graph")}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				bc.log.InfoContext(ctx, "graph call", "call", "RegisterPhone", "status_code", 200, "access_token", "x")
			}
		})
	}
}
