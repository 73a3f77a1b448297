package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

var benchSizes = []struct {
	name string
	size int
}{
	{"1KB", 1 << 10},
	{"100KB", 100 << 10},
	{"3MB", 3 << 20},
}

// BenchmarkIntake measures the whole POST /webhooks path: read the body, verify the signature, parse, and
// hand the events to a MemorySink, through httptest and the request-id/logging middleware.
func BenchmarkIntake(b *testing.B) {
	secret := onboarding.NewSecret(testSecret)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body := payloadOfSize(s.size)
			sig := Sign(body, secret)
			sink := NewMemorySink()
			h := NewHandler(func(context.Context) (onboarding.AppConfig, error) {
				return onboarding.AppConfig{AppSecret: secret}, nil
			}, sink, Options{})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/webhooks", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set(HeaderSignature, sig)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
				sink.Reset()
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkFloor is what any intake must at least do with the same bytes: one HMAC-SHA256 and one
// json.Unmarshal into any.
func BenchmarkFloor(b *testing.B) {
	key := []byte(testSecret)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body := payloadOfSize(s.size)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				_ = m.Sum(nil)
				var v any
				if err := json.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkParse isolates the parser.
func BenchmarkParse(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body := payloadOfSize(s.size)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if _, err := Parse(body); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkVerify isolates the signature check (one HMAC-SHA256 over the body and a constant-time compare):
// the least a receiver must spend on each delivery before it may answer.
func BenchmarkVerify(b *testing.B) {
	secret := onboarding.NewSecret(testSecret)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			body := payloadOfSize(s.size)
			sig := Sign(body, secret)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if err := Verify(body, sig, secret); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}
