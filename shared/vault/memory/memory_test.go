package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/vault/memory"
	"github.com/waes/onboarding/shared/vault/vaulttest"
)

func TestContract(t *testing.T) {
	vaulttest.Run(t, func(t *testing.T, app onboarding.AppConfig) vaulttest.Subject {
		v := memory.New(app)
		return vaulttest.Subject{Vault: v, Writes: v.Writes}
	})
}

const (
	waba  = "102290129340398"
	phone = "106540352242922"
)

var errBoom = errors.New("injected failure")

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	pin := onboarding.NewSecret("314159")
	tok := onboarding.NewSecret("token-value-1")
	for _, tc := range []struct {
		name      string
		op        string
		call      func(v *memory.Vault) error
		wantWrite int // writes after the failing call
	}{
		{"AppConfig", memory.OpAppConfig, func(v *memory.Vault) error { _, err := v.AppConfig(ctx); return err }, 0},
		{"WABASecret", memory.OpWABASecret, func(v *memory.Vault) error { _, err := v.WABASecret(ctx, waba); return err }, 0},
		{"PutBusinessToken", memory.OpPutBusinessToken, func(v *memory.Vault) error {
			return v.PutBusinessToken(ctx, waba, tok, time.Time{}, "k")
		}, 0},
		{"EnsurePIN", memory.OpEnsurePIN, func(v *memory.Vault) error { _, err := v.EnsurePIN(ctx, waba, phone, pin, "k"); return err }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := memory.New(vaulttest.AppConfig())
			v.FailNext(tc.op, errBoom)
			if err := tc.call(v); !errors.Is(err, errBoom) {
				t.Fatalf("first call: got %v, want the injected error", err)
			}
			if got := v.Writes(); got != tc.wantWrite {
				t.Errorf("writes after the failed call: got %d, want %d", got, tc.wantWrite)
			}
			// The fault is consumed: the next call proceeds (WABASecret still finds nothing).
			err := tc.call(v)
			if tc.op == memory.OpWABASecret {
				if !errors.Is(err, onboarding.ErrNotFound) {
					t.Errorf("second call: got %v, want ErrNotFound", err)
				}
			} else if err != nil {
				t.Errorf("second call: got %v, want success", err)
			}
		})
	}
}

func TestFailNextAfterWrite(t *testing.T) {
	ctx := context.Background()
	v := memory.New(vaulttest.AppConfig())
	pin := onboarding.NewSecret("314159")

	// The PIN is stored but the caller sees a failure, as when a Lambda timed out after the write.
	v.FailNextAfterWrite(memory.OpEnsurePIN, errBoom)
	if _, err := v.EnsurePIN(ctx, waba, phone, pin, "k"); !errors.Is(err, errBoom) {
		t.Fatalf("EnsurePIN: got %v, want the injected error", err)
	}
	if got, want := v.Writes(), 1; got != want {
		t.Errorf("writes: got %d, want %d", got, want)
	}
	// The re-run (with another candidate) finds the stored PIN and writes nothing.
	got, err := v.EnsurePIN(ctx, waba, phone, onboarding.NewSecret("271828"), "k")
	if err != nil {
		t.Fatalf("EnsurePIN re-run: %v", err)
	}
	if !got.Equal(pin) {
		t.Errorf("EnsurePIN re-run: got %q, want %q", got.Reveal(), pin.Reveal())
	}
	if got, want := v.Writes(), 1; got != want {
		t.Errorf("writes after the re-run: got %d, want %d", got, want)
	}
}

func TestFailNextQueues(t *testing.T) {
	v := memory.New(vaulttest.AppConfig())
	v.FailNext(memory.OpAppConfig, errBoom)
	v.FailNext(memory.OpAppConfig, context.DeadlineExceeded)
	ctx := context.Background()
	for i, want := range []error{errBoom, context.DeadlineExceeded, nil} {
		_, err := v.AppConfig(ctx)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("call %d: got %v, want %v", i+1, err, want)
		}
	}
}

func TestFailNextUnknownOpPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("FailNext with an unknown operation: got no panic, want one")
		}
	}()
	memory.New(onboarding.AppConfig{}).FailNext("EnsurePin", errBoom)
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := memory.New(vaulttest.AppConfig())
	if _, err := v.EnsurePIN(ctx, waba, phone, onboarding.NewSecret("314159"), "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("EnsurePIN: got %v, want context.Canceled", err)
	}
	if got := v.Writes(); got != 0 {
		t.Errorf("writes: got %d, want 0", got)
	}
}

func TestSetAppConfig(t *testing.T) {
	v := memory.New(vaulttest.AppConfig())
	next := vaulttest.AppConfig()
	next.AppSecret = onboarding.NewSecret("rotated")
	v.SetAppConfig(next)
	got, err := v.AppConfig(context.Background())
	if err != nil {
		t.Fatalf("AppConfig: %v", err)
	}
	if got.AppSecret.Reveal() != "rotated" {
		t.Errorf("app secret after SetAppConfig: got the old one, want the rotated one")
	}
}

func BenchmarkEnsurePIN(b *testing.B) {
	ctx := context.Background()
	pin := onboarding.NewSecret("314159")
	b.Run("existing", func(b *testing.B) {
		v := memory.New(vaulttest.AppConfig())
		if _, err := v.EnsurePIN(ctx, waba, phone, pin, "k"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.EnsurePIN(ctx, waba, phone, pin, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		v := memory.New(vaulttest.AppConfig())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := v.EnsurePIN(ctx, waba, fmt.Sprint(i), pin, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestFmtRedacts(t *testing.T) {
	v := memory.New(vaulttest.AppConfig())
	if _, err := v.EnsurePIN(context.Background(), waba, phone, onboarding.NewSecret("314159"), "k"); err != nil {
		t.Fatal(err)
	}
	vaulttest.NoSecretIn(t, "fmt of the vault", fmt.Sprintf("%v %+v %#v %s", v, v, v, v))
}
