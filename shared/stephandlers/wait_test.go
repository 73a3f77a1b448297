package stephandlers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

// TestRegisterWaitsAsLongAsMetaAsks: a wait-fixed error's wait comes from Meta's details text (bounded), is
// recorded on the step as next_attempt_at, and is what record_outcome's wait action answers the workflow.
func TestRegisterWaitsAsLongAsMetaAsks(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		details string
		want    time.Duration
	}{
		{"133008 names 12 minutes", graph.CodeTwoStepTooManyTries, "Too many PIN guesses. Try again in 12 minutes.", 12 * time.Minute},
		{"133009 names 30 seconds", graph.CodeTwoStepTooFast, "PIN entered too quickly; wait 30 seconds", 30 * time.Second},
		{"133015 names nothing: Meta's 5 minutes", graph.CodeRegisterDeleting, "", 5 * time.Minute},
		{"an absurd wait is bounded", graph.CodeTwoStepTooManyTries, "Try again in 9999 hours", MaxStepWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			f.sim.InjectFault(graphsim.Fault{Call: graph.CallRegister, Kind: graphsim.FaultGraphError, Code: tt.code, Details: tt.details})
			before := time.Now()
			_, err := f.svc.RegisterPhone(context.Background(), f.in())
			var wf *onboarding.WaitFixedError
			if !errors.As(err, &wf) {
				t.Fatalf("RegisterPhone: got %v, want a WaitFixedError", err)
			}
			if got := time.Duration(wf.WaitSeconds) * time.Second; got != tt.want {
				t.Errorf("WaitSeconds: got %s, want %s", got, tt.want)
			}
			st := f.record(t).Step(onboarding.StepRegisterPhone)
			if st.NextAttemptAt == nil {
				t.Fatalf("next_attempt_at not recorded: %+v", st)
			}
			if d := st.NextAttemptAt.Sub(before); d < tt.want-time.Second || d > tt.want+5*time.Second {
				t.Errorf("next_attempt_at: %s after the call, want about %s", d, tt.want)
			}
			out, err := f.svc.RecordOutcome(context.Background(), OutcomeInput{Action: ActionWait, OnboardingID: f.rec.ID, Step: onboarding.StepRegisterPhone})
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(out.WaitSeconds) * time.Second; got < tt.want-5*time.Second || got > tt.want {
				t.Errorf("wait action: got %s, want about %s", got, tt.want)
			}
		})
	}
}

func TestWaitActionWithoutARecordedAttempt(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	out, err := f.svc.RecordOutcome(context.Background(), OutcomeInput{Action: ActionWait, OnboardingID: f.rec.ID, Step: onboarding.StepRegisterPhone})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.WaitSeconds, int(DefaultStepWait/time.Second); got != want {
		t.Errorf("wait_seconds: got %d, want %d", got, want)
	}
}
