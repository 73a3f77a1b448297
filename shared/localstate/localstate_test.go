package localstate_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/localstate"
)

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".local")
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("state directory mode: got %v, want %v", got, want)
	}
	fi, err = os.Stat(localstate.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("database mode: got %v, want %v", got, want)
	}
}

func TestReset(t *testing.T) {
	t.Run("refused while held", func(t *testing.T) {
		dir := t.TempDir()
		st, err := localstate.Open(dir, localstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		err = localstate.Reset(dir, localstate.Options{LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, localstate.ErrLocked) {
			t.Fatalf("Reset while open: got %v, want ErrLocked", err)
		}
		if _, err := os.Stat(localstate.DBPath(dir)); err != nil {
			t.Errorf("the database is gone after a refused reset: %v", err)
		}
	})
	t.Run("removes the state and the empty directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".local")
		st, err := localstate.Open(dir, localstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(localstate.KeyPath(dir), make([]byte, 32), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := localstate.Reset(dir, localstate.Options{}); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state directory after Reset: got %v, want it gone", err)
		}
	})
	t.Run("keeps files it does not own", func(t *testing.T) {
		dir := t.TempDir()
		other := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(other, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := localstate.Open(dir, localstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := localstate.Reset(dir, localstate.Options{}); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if _, err := os.Stat(other); err != nil {
			t.Errorf("Reset removed a file it does not own: %v", err)
		}
		if _, err := os.Stat(localstate.DBPath(dir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("database after Reset: got %v, want it gone", err)
		}
	})
	t.Run("nothing to reset", func(t *testing.T) {
		if err := localstate.Reset(filepath.Join(t.TempDir(), "absent"), localstate.Options{}); err != nil {
			t.Errorf("Reset of a missing directory: %v", err)
		}
	})
}
