package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/vault/bolt"
	"github.com/waes/onboarding/shared/vault/vaulttest"
)

const (
	waba  = "102290129340398"
	phone = "106540352242922"
)

// open opens the state directory and the vault on it; the database is closed when the test ends.
func open(t *testing.T, dir string) (*bolt.Vault, *localstate.State) {
	t.Helper()
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		t.Fatalf("localstate.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.DB.Close() })
	v, err := bolt.Open(st.DB, localstate.KeyPath(dir), vaulttest.AppConfig())
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	return v, st
}

func TestContract(t *testing.T) {
	vaulttest.Run(t, func(t *testing.T, app onboarding.AppConfig) vaulttest.Subject {
		dir := t.TempDir()
		st, err := localstate.Open(dir, localstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.DB.Close() })
		v, err := bolt.Open(st.DB, localstate.KeyPath(dir), app)
		if err != nil {
			t.Fatal(err)
		}
		return vaulttest.Subject{Vault: v, Writes: v.Writes}
	})
}

// fill stores a token with an expiry and two PINs.
func fill(t *testing.T, v *bolt.Vault) {
	t.Helper()
	ctx := context.Background()
	if err := v.PutBusinessToken(ctx, waba, onboarding.NewSecret(vaulttest.TokenValue), time.Date(2031, 1, 2, 3, 4, 5, 6000, time.UTC), "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.EnsurePIN(ctx, waba, phone, onboarding.NewSecret("314159"), "k2"); err != nil {
		t.Fatal(err)
	}
	if err := v.SetPIN(ctx, waba, "106540352242923", onboarding.NewSecret("271828"), "k3"); err != nil {
		t.Fatal(err)
	}
}

// TestReopen: a secret written before Close reads back after a reopen with the same key file, and the PIN
// kept by EnsurePIN stays the first one.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	v, st := open(t, dir)
	fill(t, v)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	v, _ = open(t, dir)
	got, err := v.WABASecret(context.Background(), waba)
	if err != nil {
		t.Fatalf("WABASecret after reopen: %v", err)
	}
	if got.BusinessToken.Reveal() != vaulttest.TokenValue || !got.TokenExpiresAt.Equal(time.Date(2031, 1, 2, 3, 4, 5, 6000, time.UTC)) {
		t.Errorf("token after reopen: got expiry %s (token matches: %t)", got.TokenExpiresAt, got.BusinessToken.Reveal() == vaulttest.TokenValue)
	}
	if got, want := len(got.PINs), 2; got != want {
		t.Errorf("PINs after reopen: got %d, want %d", got, want)
	}
	pin, err := v.EnsurePIN(context.Background(), waba, phone, onboarding.NewSecret("161803"), "k4")
	if err != nil || pin.Reveal() != "314159" {
		t.Errorf("EnsurePIN after reopen: got the candidate or an error (%v), want the first PIN", err)
	}
	if got := v.Writes(); got != 0 {
		t.Errorf("writes after reopen: got %d, want 0", got)
	}
}

// TestKeyFile: the first Open creates a 32-byte key file readable by the owner only.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	fi, err := os.Stat(localstate.KeyPath(dir))
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("key file mode: got %v, want %v", got, want)
	}
	if got, want := fi.Size(), int64(bolt.KeySize); got != want {
		t.Errorf("key file size: got %d, want %d", got, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestKeyRefusals: a missing key with encrypted data, a wrong key and a truncated key are refused with a
// message that says what to do; a missing key with no data just makes a new one.
func TestKeyRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   bool
		damage func(t *testing.T, keyPath string)
		want   error
	}{
		{"missing key, encrypted data", true, func(t *testing.T, p string) { must(t, os.Remove(p)) }, bolt.ErrKeyMissing},
		{"missing key, key check only", false, func(t *testing.T, p string) { must(t, os.Remove(p)) }, bolt.ErrKeyMissing},
		{"another key", true, func(t *testing.T, p string) { must(t, os.WriteFile(p, bytes.Repeat([]byte{7}, bolt.KeySize), 0o600)) }, bolt.ErrKeyMismatch},
		{"truncated key", true, func(t *testing.T, p string) { must(t, os.WriteFile(p, []byte("short"), 0o600)) }, bolt.ErrKeyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			v, st := open(t, dir)
			if tc.data {
				fill(t, v)
			}
			must(t, st.Close())
			tc.damage(t, localstate.KeyPath(dir))

			st, err := localstate.Open(dir, localstate.Options{})
			must(t, err)
			defer st.Close()
			_, err = bolt.Open(st.DB, localstate.KeyPath(dir), vaulttest.AppConfig())
			var keyErr *bolt.KeyError
			if !errors.Is(err, tc.want) || !errors.As(err, &keyErr) {
				t.Fatalf("Open: got %v, want a *bolt.KeyError wrapping %v", err, tc.want)
			}
			msg := err.Error()
			for _, want := range []string{localstate.KeyPath(dir), "restore the key", "make reset-local"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			vaulttest.NoSecretIn(t, "key error", msg)
		})
	}
	t.Run("missing key, no data", func(t *testing.T) {
		dir := t.TempDir()
		st, err := localstate.Open(dir, localstate.Options{})
		must(t, err)
		defer st.Close()
		if _, err := bolt.Open(st.DB, localstate.KeyPath(dir), vaulttest.AppConfig()); err != nil {
			t.Fatalf("first Open: %v", err)
		}
	})
}

// TestNoPlaintextOnDisk: no token or PIN appears in the database file, and sealing the same secret twice
// gives different bytes (a fresh nonce per write).
func TestNoPlaintextOnDisk(t *testing.T) {
	dir := t.TempDir()
	v, st := open(t, dir)
	fill(t, v)
	// A second write of the same token with a new expiry re-seals the entry.
	must(t, v.PutBusinessToken(context.Background(), waba, onboarding.NewSecret(vaulttest.OtherTokenValue), time.Time{}, "k5"))
	must(t, st.Close())
	raw, err := os.ReadFile(localstate.DBPath(dir))
	must(t, err)
	for _, s := range []string{vaulttest.TokenValue, vaulttest.OtherTokenValue, "314159", "271828", "business_token", "pins"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the database file contains %q in plaintext", s)
		}
	}
	if !bytes.Contains(raw, []byte(waba)) {
		t.Errorf("the database file does not contain the WABA id key: is the vault writing elsewhere?")
	}
}

// TestAdditionalData: an entry moved under another WABA's key does not open.
func TestAdditionalData(t *testing.T) {
	dir := t.TempDir()
	v, st := open(t, dir)
	fill(t, v)
	must(t, bolt.MoveEntryForTest(st.DB, waba, "999"))
	if _, err := v.WABASecret(context.Background(), "999"); err == nil || errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("WABASecret of a moved entry: got %v, want a decryption failure", err)
	}
}

// TestConcurrentWriters: PINs of many phones written at once, with token writes in between, all survive.
func TestConcurrentWriters(t *testing.T) {
	v, _ := open(t, t.TempDir())
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := v.EnsurePIN(ctx, waba, fmt.Sprint(1000+i), onboarding.NewSecret(fmt.Sprintf("%06d", 100000+i)), "k"); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := v.PutBusinessToken(ctx, waba, onboarding.NewSecret(fmt.Sprintf("token-%d", i)), time.Time{}, "k"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := v.WABASecret(ctx, waba)
	must(t, err)
	if len(got.PINs) != n {
		t.Errorf("PINs: got %d, want %d (a concurrent write lost another's)", len(got.PINs), n)
	}
	for i := range n {
		if p := got.PINs[fmt.Sprint(1000+i)]; p.Reveal() != fmt.Sprintf("%06d", 100000+i) {
			t.Errorf("PIN of phone %d is not the one written", 1000+i)
		}
	}
}

func TestFmtRedacts(t *testing.T) {
	v, _ := open(t, t.TempDir())
	fill(t, v)
	vaulttest.NoSecretIn(t, "fmt of the vault", fmt.Sprintf("%v %+v %#v %s", v, v, v, v))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
