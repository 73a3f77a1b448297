package asl

import (
	"fmt"
	"math"
	"time"
)

// Name returns the state's name.
func (st *State) Name() string { return st.name }

// Type returns the state's Type (Pass, Task, Choice, Wait, Succeed, Fail).
func (st *State) Type() string { return st.typ }

// Next returns the state's Next, or "" for a state that ends the execution (or a Choice).
func (st *State) Next() string { return st.next }

// Task describes a Task state's resource and limits; it is nil for other states.
func (st *State) Task() *Task { return st.task }

// Input applies Parameters (Pass and Task) to the state input; token is the task token of a
// callback task ($$.Task.Token), else "". Without Parameters it returns the input.
func (st *State) Input(raw any, token string) (any, error) {
	if st.parameters == nil {
		return raw, nil
	}
	return st.parameters(raw, token)
}

// PassResult returns what a Pass state passes on: its Result, or else its parameters.
func (st *State) PassResult(params any) any {
	if st.hasResult {
		return st.result
	}
	return params
}

// Output applies ResultSelector to a state's result and places it into the raw input as ResultPath
// says. States without ResultPath (Choice, Wait, Succeed) pass their input as the result.
func (st *State) Output(raw, result any) (any, error) {
	if st.resultSelector != nil {
		var err error
		if result, err = st.resultSelector(result, ""); err != nil {
			return nil, err
		}
	}
	return applyResultPath(st.resultPath, raw, result)
}

// Choose evaluates a Choice state's rules against the state input and returns the next state.
func (st *State) Choose(input any) (string, error) {
	for _, r := range st.choices {
		ok, err := r.eval(input)
		if err != nil {
			return "", err
		}
		if ok {
			return r.next, nil
		}
	}
	if st.defaultNext == "" {
		return "", &Error{Name: ErrorNoChoiceMatched, Cause: fmt.Sprintf("No Choice rule of state '%s' matched the input and there is no Default.", st.name)}
	}
	return st.defaultNext, nil
}

// WaitDuration resolves a Wait state's Seconds or SecondsPath against the state input.
func (st *State) WaitDuration(input any) (time.Duration, error) {
	n, err := st.waitSeconds, error(nil)
	if st.secondsPath != nil {
		n, err = intAt(st.secondsPath, input, "SecondsPath", 0)
	}
	return time.Duration(n) * time.Second, err
}

// Timeout resolves a Task state's TimeoutSeconds or TimeoutSecondsPath, in seconds (0: none).
func (st *State) Timeout(input any) (int64, error) {
	if st.timeoutPath == nil {
		return st.task.TimeoutSeconds, nil
	}
	return intAt(st.timeoutPath, input, "TimeoutSecondsPath", 1)
}

// Payload extracts the Lambda payload from a lambda:invoke task's parameters, an object (Parse
// requires one with a FunctionName); Lambda hands an invocation without Payload to the function as {}.
func (st *State) Payload(params any) ([]byte, error) {
	m, _ := params.(map[string]any)
	payload, ok := m["Payload"]
	if !ok {
		payload = map[string]any{}
	}
	b, err := MarshalJSON(payload)
	if err != nil {
		return nil, RuntimeError(fmt.Sprintf("The task payload cannot be serialized: %v", err))
	}
	return b, nil
}

// Fail returns the error a Fail state fails the execution with: its Error and Cause, or the
// strings ErrorPath and CausePath select in the state input.
func (st *State) Fail(input any) *Error {
	e := &Error{Name: st.failError, Cause: st.failCause}
	for _, f := range []struct {
		p   *path
		dst *string
	}{{st.errorPath, &e.Name}, {st.causePath, &e.Cause}} {
		if f.p == nil {
			continue
		}
		v, ok := f.p.get(input, "")
		s, isString := v.(string)
		if !isString {
			return RuntimeError(fmt.Sprintf("The path '%s' of the Fail state '%s' must resolve to a string, got %s.", f.p.src, st.name, describeValue(v, ok)))
		}
		*f.dst = s
	}
	return e
}

// Retrier returns the index of the first retrier whose ErrorEquals matches the error, and its
// MaxAttempts; ok is false when none matches. Only that retrier applies: once it is exhausted
// the error goes to the catchers even if a later retrier would also match.
func (st *State) Retrier(errName string) (i int, maxAttempts int64, ok bool) {
	for i, r := range st.retry {
		if matchesAny(r.errorEquals, errName) {
			return i, r.maxAttempts, true
		}
	}
	return -1, 0, false
}

// NumRetriers returns the number of retriers of the state.
func (st *State) NumRetriers() int { return len(st.retry) }

// maxRetryDelay caps a back-off without MaxDelaySeconds (a year; no execution lives longer).
const maxRetryDelay = 366 * 24 * time.Hour

// RetryDelay returns the back-off before retry n (0-based) of retrier i: IntervalSeconds *
// BackoffRate^n, capped by MaxDelaySeconds, then with FULL jitter a uniformly random duration
// in [0, that). rnd returns numbers in [0, 1).
func (st *State) RetryDelay(i int, n int64, rnd func() float64) time.Duration {
	r := st.retry[i]
	secs := float64(r.interval) * math.Pow(r.backoff, float64(n))
	if r.maxDelay > 0 {
		secs = min(secs, float64(r.maxDelay))
	}
	secs = min(secs, maxRetryDelay.Seconds())
	if r.jitterFull {
		secs *= rnd()
	}
	return time.Duration(secs * float64(time.Second))
}

// Catch finds the first catcher matching e and returns the state output it produces (the error
// placed into the raw input at the catcher's ResultPath) and its Next. ok is false when no
// catcher matches. A catcher whose ResultPath cannot be applied fails with States.Runtime.
func (st *State) Catch(raw any, e *Error) (out any, next string, ok bool, err error) {
	for _, c := range st.catch {
		if !matchesAny(c.errorEquals, e.Name) {
			continue
		}
		errOut := map[string]any{"Error": e.Name}
		if e.Cause != "" {
			errOut["Cause"] = e.Cause
		}
		out, err := applyResultPath(c.resultPath, raw, errOut)
		if err != nil {
			// The catcher itself failed: nothing is left to catch this one.
			return nil, "", true, RuntimeError(err.(*Error).Cause)
		}
		return out, c.next, true, nil
	}
	return nil, "", false, nil
}

// applyResultPath places result into the state's raw input as ResultPath (or a Catcher's) says.
func applyResultPath(rp resultPath, raw, result any) (any, error) {
	switch {
	case rp.null:
		return raw, nil
	case rp.p == nil || len(rp.p.segs) == 0:
		return result, nil
	}
	out, err := rp.p.set(raw, result)
	if err != nil {
		return nil, &Error{Name: ErrorResultPathMatchFailure, Cause: fmt.Sprintf("Unable to apply ResultPath '%s' to the input: result path does not match the input: %v", rp.p.src, err)}
	}
	return out, nil
}

// intAt resolves a *SecondsPath to an integer from lo to maxSeconds.
func intAt(p *path, input any, field string, lo int64) (int64, error) {
	v, ok := p.get(input, "")
	f, isNum := toFloat(v)
	if !ok || !isNum || f != math.Trunc(f) || f < float64(lo) || f > maxSeconds {
		return 0, RuntimeError(fmt.Sprintf("The %s '%s' must resolve to an integer from %d to %d, got %s.", field, p.src, lo, maxSeconds, describeValue(v, ok)))
	}
	return int64(f), nil
}

func describeValue(v any, ok bool) string {
	if !ok {
		return "nothing (the path does not exist)"
	}
	return JSONString(v)
}
