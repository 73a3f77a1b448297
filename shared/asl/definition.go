package asl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Limits from the Step Functions quotas and the ASL.
const (
	maxStateNameLen  = 80
	maxSeconds       = 99999999 // TimeoutSeconds, HeartbeatSeconds, IntervalSeconds, MaxAttempts, Wait Seconds
	maxDelaySeconds  = 31622400 // MaxDelaySeconds must be below 31622401
	defaultInterval  = 1
	defaultAttempts  = 3
	defaultBackoff   = 2.0
	resourceInvoke   = "invoke"
	resourceCallback = "invoke.waitForTaskToken"
)

// Definition is a parsed and validated state machine, ready for New. It is immutable and may be
// shared by several engines.
type Definition struct {
	comment        string
	startAt        string
	timeoutSeconds int64
	states         map[string]*State
	names          []string // reachable states, breadth-first from StartAt
}

// TimeoutSeconds returns the definition's TimeoutSeconds (0: none).
func (d *Definition) TimeoutSeconds() int64 { return d.timeoutSeconds }

// State returns the named state, or nil if there is none.
func (d *Definition) State(name string) *State { return d.states[name] }

// StartAt returns the name of the first state.
func (d *Definition) StartAt() string { return d.startAt }

// Comment returns the definition's top-level Comment.
func (d *Definition) Comment() string { return d.comment }

// StateNames returns the names of all states, breadth-first from StartAt.
func (d *Definition) StateNames() []string { return slices.Clone(d.names) }

// StateType returns the Type of the named state, or "" if there is no such state.
func (d *Definition) StateType(name string) string {
	if st, ok := d.states[name]; ok {
		return st.typ
	}
	return ""
}

// FunctionNames returns the Lambda functions the definition invokes (the FunctionName of every
// task), sorted and de-duplicated,
// so that a runner can check at start-up that it has a handler for each.
func (d *Definition) FunctionNames() []string {
	var out []string
	for _, st := range d.states {
		if st.task != nil && st.task.function != "" {
			out = append(out, st.task.function)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// State is one compiled state. Its methods implement the data flow of the ASL (InputPath,
// Parameters, ResultSelector, ResultPath, OutputPath, Choice rules, Retry and Catch); running it,
// with its side effects and waits, is the engine's job.
type State struct {
	name    string
	typ     string
	next    string
	end     bool
	comment string

	inputPath, outputPath, resultPath ioPath
	parameters, resultSelector        *payloadTemplate
	result                            any
	hasResult                         bool

	task  *taskSpec
	retry []*retrier
	catch []*catcher

	choices     []*choiceRule
	defaultNext string

	wait *waitSpec

	failError, failCause         string
	failErrorPath, failCausePath *path
}

// ioPath is an InputPath, OutputPath or ResultPath: unset means "$", null is explicit.
type ioPath struct {
	set, null bool
	p         *path
}

type taskSpec struct {
	resource    string
	callback    bool   // .waitForTaskToken
	function    string // FunctionName
	timeout     int64  // 0: none
	timeoutPath *path
	heartbeat   int64
}

type retrier struct {
	errorEquals []string
	interval    int64
	maxAttempts int64
	backoff     float64
	maxDelay    int64 // 0: uncapped
	jitterFull  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  ioPath
}

type waitSpec struct {
	seconds     int64
	secondsPath *path
}

// Parse parses and validates an Amazon States Language definition (JSONPath query language). It
// rejects anything Step Functions would reject that this interpreter can see statically, plus
// features it does not implement, so that a definition that parses here behaves the same on AWS.
// It implements what the onboarding workflow uses and is likely to grow into: Pass, Task
// (lambda:invoke and lambda:invoke.waitForTaskToken), Choice (StringEquals, BooleanEquals, the
// Numeric comparisons, IsPresent, IsNull, And, Or, Not), Wait (Seconds, SecondsPath), Succeed
// and Fail (Error and Cause, or ErrorPath and CausePath as reference paths), Retry, Catch, and
// the intrinsics States.Format, States.StringToJson and States.MathAdd. Everything else of the ASL is refused with a message
// naming the feature, at a JSON pointer naming the state. A *ValidationError lists every problem.
func Parse(definition []byte) (*Definition, error) {
	raw, err := decodeStrict(definition)
	if err != nil {
		return nil, &ValidationError{Problems: []string{"definition is not valid JSON: " + err.Error()}}
	}
	v := &validator{}
	d := v.compileDefinition(raw)
	if len(v.problems) > 0 {
		return nil, &ValidationError{Problems: v.problems}
	}
	return d, nil
}

func (v *validator) compileDefinition(raw any) *Definition {
	o := v.object(raw, "")
	if o == nil {
		return nil
	}
	o.what = "the state machine"
	d := &Definition{states: map[string]*State{}}
	d.comment, _ = o.optString("Comment")
	if ver, ok := o.optString("Version"); ok && ver != "1.0" {
		v.addf("/Version", "Version must be \"1.0\", got %q", ver)
	}
	v.queryLanguage(o)
	d.timeoutSeconds, _ = o.optInt("TimeoutSeconds", 1, maxSeconds)
	if start, ok := o.reqString("StartAt"); ok && start == "" {
		v.addf("/StartAt", "StartAt must name a state")
	} else {
		d.startAt = start
	}
	statesRaw, present := o.m["States"], o.has("States")
	o.take("States")
	o.done()
	if !present {
		v.addf("", "missing required field %q", "States")
		return d
	}
	states, ok := statesRaw.(map[string]any)
	if !ok || len(states) == 0 {
		v.addf("/States", "States must be a non-empty object of states")
		return d
	}
	for _, name := range sortedKeys(states) {
		loc := "/States/" + escapePointer(name)
		if name == "" || len(name) > maxStateNameLen {
			v.addf(loc, "state names must be 1 to %d characters long", maxStateNameLen)
		}
		if st := v.compileState(name, states[name], loc); st != nil {
			d.states[name] = st
		}
	}
	v.checkTransitions(d)
	return d
}

func (v *validator) queryLanguage(o *obj) {
	if ql, ok := o.optString("QueryLanguage"); ok && ql != "JSONPath" {
		v.addf(o.fieldLoc("QueryLanguage"), "QueryLanguage %q is not supported: only JSONPath", ql)
	}
}

// checkTransitions verifies StartAt and every transition target, then reports unreachable states.
func (v *validator) checkTransitions(d *Definition) {
	exists := func(name, loc string) bool {
		if _, ok := d.states[name]; !ok {
			v.addf(loc, "no state named %q", name)
			return false
		}
		return true
	}
	if d.startAt != "" {
		exists(d.startAt, "/StartAt")
	}
	targets := func(st *State) []string {
		var out []string
		loc := "/States/" + escapePointer(st.name)
		if st.next != "" && exists(st.next, loc+"/Next") {
			out = append(out, st.next)
		}
		if st.defaultNext != "" && exists(st.defaultNext, loc+"/Default") {
			out = append(out, st.defaultNext)
		}
		for i, r := range st.choices {
			if r.next != "" && exists(r.next, fmt.Sprintf("%s/Choices/%d/Next", loc, i)) {
				out = append(out, r.next)
			}
		}
		for i, c := range st.catch {
			if c.next != "" && exists(c.next, fmt.Sprintf("%s/Catch/%d/Next", loc, i)) {
				out = append(out, c.next)
			}
		}
		return out
	}
	edges := map[string][]string{}
	for _, name := range sortedKeys(anyMap(d.states)) {
		edges[name] = targets(d.states[name])
	}
	if _, ok := d.states[d.startAt]; ok {
		v.checkReachable(d, edges)
	}
}

// checkReachable lists the states breadth-first from StartAt and reports the unreachable ones.
func (v *validator) checkReachable(d *Definition, edges map[string][]string) {
	seen := map[string]bool{d.startAt: true}
	queue := []string{d.startAt}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		d.names = append(d.names, cur)
		for _, n := range edges[cur] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	var unreachable []string
	for _, name := range sortedKeys(anyMap(d.states)) {
		if !seen[name] {
			unreachable = append(unreachable, fmt.Sprintf("%q", name))
		}
	}
	if len(unreachable) > 0 {
		v.addf("/States", "unreachable from StartAt: %s", strings.Join(unreachable, ", "))
	}
}

func anyMap[T any](m map[string]T) map[string]any {
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	return out
}

func (v *validator) compileState(name string, raw any, loc string) *State {
	o := v.object(raw, loc)
	if o == nil {
		return nil
	}
	typ, _ := o.reqString("Type")
	o.what = typ + " state"
	st := &State{name: name, typ: typ}
	st.comment, _ = o.optString("Comment")
	v.queryLanguage(o)
	if !v.knownType(o, typ) {
		// Keep the state (and its Next) so that one bad state does not also make every
		// transition to it, or from it, look broken.
		st.next, _ = o.m["Next"].(string)
		return st
	}
	if typ != "Fail" {
		st.inputPath = v.ioPath(o, "InputPath", true)
		st.outputPath = v.ioPath(o, "OutputPath", true)
	}
	if typ == "Task" || typ == "Pass" || typ == "Wait" {
		v.nextOrEnd(o, st)
	}
	if typ == "Task" || typ == "Pass" {
		st.resultPath = v.ioPath(o, "ResultPath", false)
		if o.has("Parameters") {
			st.parameters = v.compileTemplate(o.take("Parameters"), o.fieldLoc("Parameters"))
		}
	}
	switch typ {
	case "Task":
		v.compileTask(o, st)
	case "Pass":
		if o.has("Result") {
			st.result, st.hasResult = o.take("Result"), true
		}
		if st.parameters != nil && st.parameters.usesToken {
			v.addf(o.fieldLoc("Parameters"), "$$.Task.Token exists only in .waitForTaskToken tasks")
		}
	case "Wait":
		v.compileWait(o, st)
	case "Choice":
		v.compileChoice(o, st)
	case "Fail":
		v.compileFail(o, st)
	}
	o.done()
	return st
}

// knownType reports whether typ is a state type the interpreter runs, reporting it otherwise.
func (v *validator) knownType(o *obj, typ string) bool {
	switch typ {
	case "Task", "Pass", "Wait", "Choice", "Succeed", "Fail":
		return true
	case "Map", "Parallel":
		v.addf(o.loc+"/Type", "%s states are not supported by this interpreter", typ)
	case "":
		if o.has("Type") {
			v.addf(o.loc+"/Type", "unknown state type \"\" (Task, Pass, Wait, Choice, Succeed, Fail)")
		}
	default:
		v.addf(o.loc+"/Type", "unknown state type %q (Task, Pass, Wait, Choice, Succeed, Fail)", typ)
	}
	return false
}

func (v *validator) nextOrEnd(o *obj, st *State) {
	hasNext, hasEnd := o.has("Next"), o.has("End")
	if hasNext {
		st.next = v.targetName(o, "Next")
	}
	if hasEnd {
		if b, ok := o.take("End").(bool); !ok || !b {
			v.addf(o.fieldLoc("End"), "End must be true when present")
		} else {
			st.end = true
		}
	}
	switch {
	case hasNext && hasEnd:
		v.addf(o.loc, "a %s state has either Next or End, not both", st.typ)
	case !hasNext && !hasEnd:
		v.addf(o.loc, "a %s state needs Next or \"End\": true", st.typ)
	}
}

var (
	stateResourceRE  = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]*:[0-9]*:lambda:(invoke|invoke\.waitForTaskToken)$`)
	lambdaFunctionRE = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:`)
)

// refusedInvokeParams are the Lambda Invoke parameters the interpreter does not implement.
var refusedInvokeParams = map[string]bool{
	"FunctionName.$": true, "Qualifier": true, "InvocationType": true, "ClientContext": true, "LogType": true,
}

func (v *validator) compileTask(o *obj, st *State) {
	t := &taskSpec{}
	st.task = t
	t.resource, _ = o.reqString("Resource")
	rloc := o.fieldLoc("Resource")
	switch m := stateResourceRE.FindStringSubmatch(t.resource); {
	case strings.Contains(t.resource, "${"):
		v.addf(rloc, "Resource %q still contains a ${...} placeholder: run Substitute first", t.resource)
	case m != nil:
		t.callback = m[1] == resourceCallback
	case lambdaFunctionRE.MatchString(t.resource):
		v.addf(rloc, "Lambda function ARN resources (%q) are not supported by this interpreter: use arn:aws:states:::lambda:invoke", t.resource)
	case o.has("Resource"):
		v.addf(rloc, "unsupported Resource %q: only arn:aws:states:::lambda:invoke and arn:aws:states:::lambda:invoke.waitForTaskToken are supported", t.resource)
	}
	if o.has("ResultSelector") {
		st.resultSelector = v.compileTemplate(o.take("ResultSelector"), o.fieldLoc("ResultSelector"))
		if st.resultSelector.usesToken {
			v.addf(o.fieldLoc("ResultSelector"), "$$.Task.Token is only available in Parameters")
		}
	}
	if stateResourceRE.MatchString(t.resource) {
		v.checkInvokeParameters(o, st)
	}
	if st.parameters != nil && st.parameters.usesToken && !t.callback {
		v.addf(o.fieldLoc("Parameters"), "$$.Task.Token exists only in .waitForTaskToken tasks")
	}
	if t.callback && stateResourceRE.MatchString(t.resource) && (st.parameters == nil || !st.parameters.usesToken) {
		v.addf(o.fieldLoc("Parameters"), "a .waitForTaskToken task must pass $$.Task.Token in its Parameters, or nobody can complete it")
	}

	t.timeout, _ = o.optInt("TimeoutSeconds", 1, maxSeconds)
	t.timeoutPath = v.optPathField(o, "TimeoutSecondsPath")
	if o.has("TimeoutSeconds") && o.has("TimeoutSecondsPath") {
		v.addf(o.loc, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
	}
	t.heartbeat, _ = o.optInt("HeartbeatSeconds", 1, maxSeconds)
	if t.heartbeat > 0 && t.timeout > 0 && t.heartbeat >= t.timeout {
		v.addf(o.fieldLoc("HeartbeatSeconds"), "HeartbeatSeconds (%d) must be smaller than TimeoutSeconds (%d)", t.heartbeat, t.timeout)
	}

	v.compileRetryCatch(o, st)
}

// compileRetryCatch compiles a Task state's Retry and Catch.
func (v *validator) compileRetryCatch(o *obj, st *State) {
	for _, field := range []string{"Retry", "Catch"} {
		if !o.has(field) {
			continue
		}
		arr, ok := o.take(field).([]any)
		if !ok {
			v.addf(o.fieldLoc(field), "%s must be an array of %s", field, map[string]string{"Retry": "retriers", "Catch": "catchers"}[field])
		}
		for i, raw := range arr {
			loc, last := fmt.Sprintf("%s/%d", o.fieldLoc(field), i), i == len(arr)-1
			if field == "Catch" {
				if c := v.compileCatcher(raw, loc, last); c != nil {
					st.catch = append(st.catch, c)
				}
			} else if r := v.compileRetrier(raw, loc, last); r != nil {
				st.retry = append(st.retry, r)
			}
		}
	}
}

func (v *validator) checkInvokeParameters(o *obj, st *State) {
	ploc := o.fieldLoc("Parameters")
	params, ok := o.m["Parameters"].(map[string]any)
	if !ok {
		v.addf(ploc, "the lambda:invoke integration needs Parameters with FunctionName (and usually Payload)")
		return
	}
	for _, key := range sortedKeys(params) {
		switch {
		case refusedInvokeParams[key]:
			v.addf(ploc+"/"+escapePointer(key), "the lambda:invoke parameter %s is not supported by this interpreter (only a static FunctionName and Payload)", key)
		case key != "FunctionName" && key != "Payload" && key != "Payload.$":
			v.addf(ploc+"/"+escapePointer(key), "unknown lambda:invoke parameter %q (FunctionName, Payload)", key)
		}
	}
	fn, static := params["FunctionName"]
	s, ok := fn.(string)
	switch {
	case !static && params["FunctionName.$"] == nil:
		v.addf(ploc, "missing required parameter FunctionName")
	case !static:
	case !ok || s == "":
		v.addf(ploc+"/FunctionName", "FunctionName must be a non-empty string")
	case strings.Contains(s, "${"):
		v.addf(ploc+"/FunctionName", "FunctionName %q still contains a ${...} placeholder: run Substitute first", s)
	default:
		st.task.function = s
	}
}

func (v *validator) compileRetrier(raw any, loc string, last bool) *retrier {
	o := v.object(raw, loc)
	if o == nil {
		return nil
	}
	o.what = "a Retrier"
	r := &retrier{interval: defaultInterval, maxAttempts: defaultAttempts, backoff: defaultBackoff}
	var hasAll bool
	r.errorEquals, hasAll = v.errorEquals(o)
	if hasAll && !last {
		v.addf(o.fieldLoc("ErrorEquals"), "a retrier matching States.ALL must be the last retrier")
	}
	o.optString("Comment")
	if n, ok := o.optInt("IntervalSeconds", 1, maxSeconds); ok {
		r.interval = n
	}
	if n, ok := o.optInt("MaxAttempts", 0, maxSeconds); ok {
		r.maxAttempts = n
	}
	if n, ok := o.optInt("MaxDelaySeconds", 1, maxDelaySeconds); ok {
		r.maxDelay = n
	}
	if o.has("BackoffRate") {
		f, ok := toFloat(o.take("BackoffRate"))
		if !ok || f < 1.0 {
			v.addf(o.fieldLoc("BackoffRate"), "BackoffRate must be a number >= 1.0, got %s", jsonString(o.m["BackoffRate"]))
		} else {
			r.backoff = f
		}
	}
	if js, ok := o.optString("JitterStrategy"); ok {
		switch js {
		case "FULL":
			r.jitterFull = true
		case "NONE":
		default:
			v.addf(o.fieldLoc("JitterStrategy"), "JitterStrategy must be FULL or NONE, got %q", js)
		}
	}
	o.done()
	return r
}

func (v *validator) compileCatcher(raw any, loc string, last bool) *catcher {
	o := v.object(raw, loc)
	if o == nil {
		return nil
	}
	o.what = "a Catcher"
	c := &catcher{}
	var hasAll bool
	c.errorEquals, hasAll = v.errorEquals(o)
	if hasAll && !last {
		v.addf(o.fieldLoc("ErrorEquals"), "a catcher matching States.ALL must be the last catcher")
	}
	o.optString("Comment")
	if !o.has("Next") {
		v.addf(o.loc, "missing required field %q", "Next")
	}
	c.next = v.targetName(o, "Next")
	c.resultPath = v.ioPath(o, "ResultPath", false)
	o.done()
	return c
}

func (v *validator) compileChoice(o *obj, st *State) {
	if !o.has("Choices") {
		v.addf(o.loc, "missing required field %q", "Choices")
	} else if arr, ok := o.take("Choices").([]any); !ok || len(arr) == 0 {
		v.addf(o.fieldLoc("Choices"), "Choices must be a non-empty array of rules")
	} else {
		for i, raw := range arr {
			cond, next := v.compileRule(raw, fmt.Sprintf("%s/%d", o.fieldLoc("Choices"), i), true)
			st.choices = append(st.choices, &choiceRule{next: next, cond: cond})
		}
	}
	if o.has("Default") {
		st.defaultNext = v.targetName(o, "Default")
	}
}

// targetName reads a transition field (Next, Default), which must name a state.
func (v *validator) targetName(o *obj, key string) string {
	s, ok := o.optString(key)
	if ok && s == "" {
		v.addf(o.fieldLoc(key), "%s must name a state", key)
	}
	return s
}

func (v *validator) compileWait(o *obj, st *State) {
	w := &waitSpec{}
	st.wait = w
	if o.has("Seconds") == o.has("SecondsPath") {
		v.addf(o.loc, "a Wait state needs exactly one of Seconds and SecondsPath (Timestamp and TimestampPath are not supported by this interpreter)")
	}
	w.seconds, _ = o.optInt("Seconds", 0, maxSeconds)
	w.secondsPath = v.optPathField(o, "SecondsPath")
}

func (v *validator) compileFail(o *obj, st *State) {
	for _, f := range []string{"Error", "Cause"} {
		if o.has(f) && o.has(f+"Path") {
			v.addf(o.loc, "a Fail state has %s or %sPath, not both", f, f)
		}
	}
	st.failError, _ = o.optString("Error")
	st.failCause, _ = o.optString("Cause")
	// Reference paths only: the intrinsics Step Functions also accepts there are not supported.
	st.failErrorPath = v.optPathField(o, "ErrorPath")
	st.failCausePath = v.optPathField(o, "CausePath")
}
