package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/logging"
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
	execs, err := newExecutionStore(st.DB)
	if err != nil {
		return stateAdapters{}, errors.Join(err, st.Close())
	}
	execs.afterSave = r.cfg.afterCheckpoint
	r.state, r.DiskStore, r.DiskVault, r.executions = st, store, vault, execs
	// Expired webhook items are deleted in the background, as DynamoDB's TTL does; closeState waits for it.
	done := make(chan struct{})
	r.sweepDone = done
	go func() {
		defer close(done)
		n, err := store.Sweep(context.Background(), time.Now())
		if err != nil {
			r.log.Warn("sweeping expired webhook items from the local state", "error", err.Error())
		} else if n > 0 {
			r.log.Info("expired webhook items deleted from the local state", "items", n)
		}
	}()
	return stateAdapters{records: store, webhooks: store, vault: vault}, nil
}

// interruptedMessage is the step error of an active onboarding that has no workflow execution to resume.
const interruptedMessage = "the local runner stopped while this step was running, before its workflow execution was saved: retry the onboarding to resume from this step"

// failInterrupted fails the onboardings left active by an earlier run that no resumed workflow execution
// (running, the onboarding ids) moves on: the runner stopped between the record's creation and the
// execution's start, or the execution could not be read back. Nothing would ever move them on, and their
// WABA+phone guard would refuse every new signup for the number. Failing the step that was running
// (step_crashed) makes them retryable, as on AWS after a step's crash; POST /onboardings/{id}/retry resumes them.
func (r *Runner) failInterrupted(store *boltstore.Store, running map[string]bool) error {
	ctx := context.Background()
	active, err := store.ListActive(ctx)
	if err != nil {
		return fmt.Errorf("finding the onboardings an earlier run left running: %w", err)
	}
	for _, rec := range active {
		step := interruptedStep(rec)
		if step == "" || running[rec.ID] {
			continue
		}
		_, err := onboarding.Mutate(ctx, store, rec.ID, func(cur *onboarding.Record) error {
			if !cur.Status.Active() {
				return onboarding.ErrNoChange
			}
			return cur.Fail(step, onboarding.StepError{Code: onboarding.CodeStepCrashed, Message: interruptedMessage}, time.Now())
		})
		if err != nil && !errors.Is(err, onboarding.ErrNoChange) {
			return fmt.Errorf("failing the interrupted onboarding %s: %w", rec.ID, err)
		}
		r.log.Warn("onboarding interrupted by an earlier stop of the runner: failed, retry resumes it",
			logging.KeyOnboardingID, rec.ID, "step", string(step))
	}
	return nil
}

// interruptedStep is the step an interrupted onboarding was at: the first one not done.
func interruptedStep(rec *onboarding.Record) onboarding.StepName {
	for _, s := range rec.Steps {
		if !s.Status.Done() {
			return s.Name
		}
	}
	return ""
}

// closeState releases the state directory (disk mode; nothing to do in memory).
func (r *Runner) closeState() error {
	if r.state == nil {
		return nil
	}
	if r.sweepDone != nil {
		<-r.sweepDone
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
