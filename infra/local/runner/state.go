package runner

import (
	"errors"
	"fmt"

	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/onboarding"
	boltstore "github.com/waes/onboarding/shared/store/bolt"
	"github.com/waes/onboarding/shared/store/memory"
	boltvault "github.com/waes/onboarding/shared/vault/bolt"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
)

// stateAdapters are the store, webhook store and vault the runner wires in, whichever the mode.
type stateAdapters struct {
	records  onboarding.Store
	webhooks onboarding.WebhookStore
	vault    onboarding.Vault
}

// openState builds the state adapters of cfg.State: the in-memory stand-ins (Store, Vault), or the durable
// adapters on the state directory (DiskStore, DiskVault), which it holds locked until closeState.
func (r *Runner) openState() (stateAdapters, error) {
	cfg := r.cfg
	switch cfg.State {
	case "", StateMemory:
		r.Store = memory.New()
		r.Vault = vaultmem.New(cfg.App)
		return stateAdapters{records: r.Store, webhooks: r.Store, vault: r.Vault}, nil
	case StateDisk:
	default:
		return stateAdapters{}, fmt.Errorf("unknown local state %q (want %s or %s)", cfg.State, StateDisk, StateMemory)
	}
	st, err := localstate.Open(cfg.StateDir, localstate.Options{})
	if err != nil {
		return stateAdapters{}, err
	}
	store, err := boltstore.New(st.DB, boltstore.Options{})
	if err != nil {
		return stateAdapters{}, errors.Join(err, st.Close())
	}
	vault, err := boltvault.Open(st.DB, localstate.KeyPath(cfg.StateDir), cfg.App)
	if err != nil {
		return stateAdapters{}, errors.Join(err, st.Close())
	}
	r.state, r.DiskStore, r.DiskVault = st, store, vault
	return stateAdapters{records: store, webhooks: store, vault: vault}, nil
}

// closeState releases the state directory (disk mode; nothing to do in memory).
func (r *Runner) closeState() error {
	if r.state == nil {
		return nil
	}
	st := r.state
	r.state = nil
	return st.Close()
}

// StateDir returns the state directory in use, or "" when the state is in memory.
func (r *Runner) StateDir() string {
	if r.state == nil {
		return ""
	}
	return r.state.Dir
}
