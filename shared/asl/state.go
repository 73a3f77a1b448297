package asl

import (
	"fmt"
	"math"
	"time"
)

// Env is what evaluating paths and intrinsics needs besides the state input: the context object
// ($$), built by the engine for the state being run.
type Env interface {
	ContextObject() any
}

// Name returns the state's name.
func (st *State) Name() string { return st.name }

// Type returns the state's Type (Pass, Task, Choice, Wait, Succeed, Fail).
func (st *State) Type() string { return st.typ }

// Next returns the state's Next, or "" for a state that ends the execution (or a Choice).
func (st *State) Next() string { return st.next }

// Task describes a Task state's resource and limits; it is nil for other states.
func (st *State) Task() *Task { return st.task }

// Input applies InputPath to the raw state input, then Parameters (Pass and Task). It returns the
// effective input (after InputPath, what TimeoutSecondsPath, SecondsPath and Choice rules read)
// and the parameters (the effective input when the state has no Parameters).
func (st *State) Input(raw any, en Env) (eff, params any, err error) {
	if eff, err = st.inputPath.apply(raw, en, "InputPath"); err != nil {
		return nil, nil, err
	}
	if st.parameters == nil {
		return eff, eff, nil
	}
	params, err = st.parameters.eval(eff, en)
	return eff, params, err
}

// PassResult returns what a Pass state passes on: its Result, or else its parameters.
func (st *State) PassResult(params any) any {
	if st.hasResult {
		return st.result
	}
	return params
}

// Output applies ResultSelector to a state's result, places it into the raw input as ResultPath
// says, and applies OutputPath. States without ResultPath (Choice, Wait, Succeed) pass their
// effective input as the result.
func (st *State) Output(raw, result any, en Env) (any, error) {
	var err error
	if st.resultSelector != nil {
		if result, err = st.resultSelector.eval(result, en); err != nil {
			return nil, err
		}
	}
	out, err := applyResultPath(st.resultPath, raw, result)
	if err != nil {
		return nil, err
	}
	return st.outputPath.apply(out, en, "OutputPath")
}

// Choose evaluates a Choice state's rules against the effective input and returns the next state.
func (st *State) Choose(eff any, en Env) (string, error) {
	for _, r := range st.choices {
		ok, err := r.eval(eff, en)
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

// WaitDuration resolves a Wait state's Seconds or SecondsPath against the effective input.
func (st *State) WaitDuration(eff any, en Env) (time.Duration, error) {
	if st.secondsPath == nil {
		return time.Duration(st.waitSeconds) * time.Second, nil
	}
	n, err := intAt(st.secondsPath, eff, en, "SecondsPath", 0)
	return time.Duration(n) * time.Second, err
}

// Timeouts resolves a Task state's TimeoutSeconds(Path) and HeartbeatSeconds, in seconds (0: none).
func (st *State) Timeouts(eff any, en Env) (timeout, heartbeat int64, err error) {
	timeout, heartbeat = st.task.TimeoutSeconds, st.task.HeartbeatSeconds
	if p := st.timeoutPath; p != nil {
		if timeout, err = intAt(p, eff, en, "TimeoutSecondsPath", 1); err != nil {
			return 0, 0, err
		}
	}
	if heartbeat > 0 && timeout > 0 && heartbeat >= timeout {
		return 0, 0, RuntimeError(fmt.Sprintf("The heartbeat (%d s) must be shorter than the timeout (%d s).", heartbeat, timeout))
	}
	return timeout, heartbeat, nil
}

// Payload extracts the Lambda payload from a lambda:invoke task's parameters; Lambda hands an
// invocation without Payload to the function as {}.
func (st *State) Payload(params any) ([]byte, error) {
	m, ok := params.(map[string]any)
	if !ok {
		return nil, RuntimeError(fmt.Sprintf("The Parameters of a lambda:invoke task must be an object, got %s.", jsonType(params)))
	}
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
func (st *State) Fail(input any, en Env) *Error {
	e := &Error{Name: st.failError, Cause: st.failCause}
	for _, f := range []struct {
		p   *path
		dst *string
	}{{st.errorPath, &e.Name}, {st.causePath, &e.Cause}} {
		if f.p == nil {
			continue
		}
		v, ok := f.p.get(input, en)
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

func (ip ioPath) apply(v any, en Env, field string) (any, error) {
	switch {
	case !ip.set:
		return v, nil
	case ip.null:
		return map[string]any{}, nil
	}
	out, ok := ip.p.get(v, en)
	if !ok {
		return nil, RuntimeError(fmt.Sprintf("Invalid path '%s' in %s: no results for the path in the input.", ip.p.src, field))
	}
	return out, nil
}

// applyResultPath places result into the state's raw input as ResultPath (or a Catcher's) says.
func applyResultPath(rp ioPath, raw, result any) (any, error) {
	switch {
	case rp.null:
		return raw, nil
	case !rp.set || rp.p.isRoot():
		return result, nil
	}
	out, err := rp.p.set(raw, result)
	if err != nil {
		return nil, &Error{Name: ErrorResultPathMatchFailure, Cause: fmt.Sprintf("Unable to apply ResultPath '%s' to the input: result path does not match the input: %v", rp.p.src, err)}
	}
	return out, nil
}

// intAt resolves a *SecondsPath to an integer from lo to maxSeconds.
func intAt(p *path, eff any, en Env, field string, lo int64) (int64, error) {
	v, ok := p.get(eff, en)
	n, isInt := toInt(v)
	if !ok || !isInt || n < lo || n > maxSeconds {
		return 0, RuntimeError(fmt.Sprintf("The %s '%s' must resolve to an integer from %d to %d, got %s.", field, p.src, lo, maxSeconds, describeValue(v, ok)))
	}
	return n, nil
}

func describeValue(v any, ok bool) string {
	if !ok {
		return "nothing (the path does not exist)"
	}
	return jsonString(v)
}
