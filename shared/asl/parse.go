package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Limits from the Step Functions quotas and the ASL.
const (
	maxStateNameLen = 80
	maxSeconds      = 99999999 // TimeoutSeconds, IntervalSeconds, MaxAttempts, Wait Seconds
	maxDelaySeconds = 31622400 // MaxDelaySeconds must be below 31622401
)

// Definition is a parsed and validated state machine, ready for engine.New. It is immutable and
// may be shared by several engines.
type Definition struct {
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

// StateNames returns the names of all states, breadth-first from StartAt.
func (d *Definition) StateNames() []string { return slices.Clone(d.names) }

// State is one compiled state. Its methods implement the data flow of the ASL; running it, with
// its side effects and waits, is the engine's job.
type State struct {
	name, typ, next string

	resultPath                 resultPath
	parameters, resultSelector template
	usesToken                  bool // Parameters read $$.Task.Token
	result                     any
	hasResult                  bool

	task        *Task
	timeoutPath *path
	retry       []*retrier
	catch       []*catcher

	choices     []choiceRule
	defaultNext string

	waitSeconds int64
	secondsPath *path

	failError, failCause string
	errorPath, causePath *path
}

// Task describes a Task state's static configuration.
type Task struct {
	Callback       bool   // lambda:invoke.waitForTaskToken
	Function       string // FunctionName
	TimeoutSeconds int64  // 0: none, or TimeoutSecondsPath (see Timeout)
}

// resultPath is a ResultPath: unset (p nil) means "$", null discards the result.
type resultPath struct {
	null bool
	p    *path
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
	resultPath  resultPath
}

// The JSON shapes Parse decodes. Fields are matched case-sensitively against allowedFields first,
// because encoding/json alone would accept "next" for "Next".
type rawDefinition struct {
	Comment, StartAt string
	TimeoutSeconds   *int64
	States           map[string]json.RawMessage
}

type rawState struct {
	Type, Comment, Resource, Error, Cause          string
	Next, Default, SecondsPath, TimeoutSecondsPath *string
	ErrorPath, CausePath                           *string
	End                                            *bool
	ResultPath, Parameters, ResultSelector, Result json.RawMessage
	TimeoutSeconds, Seconds                        *int64
	Retry, Catch, Choices                          []json.RawMessage
}

type rawRetrier struct {
	ErrorEquals                                   []string
	Comment, JitterStrategy                       string
	IntervalSeconds, MaxAttempts, MaxDelaySeconds *int64
	BackoffRate                                   *float64
}

type rawCatcher struct {
	ErrorEquals   []string
	Comment, Next string
	ResultPath    json.RawMessage
}

// allowedFields lists the fields each object may have. What is missing here (Map and Parallel
// states, JSONata and QueryLanguage, Version, Assign, Credentials, InputPath, OutputPath,
// HeartbeatSeconds, Wait timestamps, ...) is refused.
var allowedFields = map[string]string{
	"definition": "Comment StartAt States TimeoutSeconds",
	"Task":       "Type Comment Next End ResultPath Parameters ResultSelector Retry Catch Resource TimeoutSeconds TimeoutSecondsPath",
	"Pass":       "Type Comment Next End ResultPath Parameters Result",
	"Wait":       "Type Comment Next End Seconds SecondsPath",
	"Choice":     "Type Comment Choices Default",
	"Succeed":    "Type Comment",
	"Fail":       "Type Comment Error Cause ErrorPath CausePath",
	"Retrier":    "ErrorEquals Comment IntervalSeconds MaxAttempts BackoffRate MaxDelaySeconds JitterStrategy",
	"Catcher":    "ErrorEquals Comment Next ResultPath",
}

var resourceRE = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]*:[0-9]*:lambda:invoke(\.waitForTaskToken)?$`)

// validator collects every problem of a definition, so that one Parse call shows everything to fix.
type validator struct{ problems []string }

func (v *validator) addf(loc, format string, a ...any) {
	if loc == "" {
		loc = "/"
	}
	v.problems = append(v.problems, loc+": "+fmt.Sprintf(format, a...))
}

// decode checks raw's keys against allowedFields[what] and decodes it into dst.
func (v *validator) decode(raw []byte, loc, what string, dst any) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		v.addf(loc, "expected a JSON object (%s)", what)
		return false
	}
	ok := true // report every unsupported field before giving up
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(strings.Fields(allowedFields[what]), k) {
			v.addf(loc+"/"+k, "field %q is not supported in a %s", k, what)
			ok = false
		}
	}
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // the keys are checked above
	err := dec.Decode(dst)
	if err != nil {
		v.addf(loc, "%s: %v", what, strings.TrimPrefix(err.Error(), "json: "))
	}
	return err == nil
}

// Parse parses and validates an Amazon States Language definition (JSONPath). It accepts Pass,
// Task (lambda:invoke and .waitForTaskToken, static FunctionName, Payload), Choice (StringEquals,
// BooleanEquals, NumericGreaterThan), Wait, Succeed, Fail, Retry, Catch, ResultPath, ResultSelector,
// dot-notation paths, $$.Task.Token and States.MathAdd, and refuses the rest: a *ValidationError
// lists every problem at a JSON pointer.
func Parse(definition []byte) (*Definition, error) {
	v := &validator{}
	d := v.definition(definition)
	if len(v.problems) > 0 {
		return nil, &ValidationError{Problems: v.problems}
	}
	return d, nil
}

func (v *validator) definition(doc []byte) *Definition {
	if _, err := DecodeJSON(doc); err != nil {
		v.addf("", "definition is not valid JSON: %v", err)
		return nil
	}
	var raw rawDefinition
	if !v.decode(doc, "", "definition", &raw) {
		return nil
	}
	d := &Definition{startAt: raw.StartAt, states: map[string]*State{}}
	d.timeoutSeconds = v.seconds("/TimeoutSeconds", raw.TimeoutSeconds, 1, maxSeconds, 0)
	if raw.StartAt == "" {
		v.addf("/StartAt", "StartAt must name a state")
	}
	if len(raw.States) == 0 {
		v.addf("/States", "States must be a non-empty object of states")
	}
	for _, name := range slices.Sorted(maps.Keys(raw.States)) {
		loc := "/States/" + escapePointer(name)
		if name == "" || len(name) > maxStateNameLen {
			v.addf(loc, "state names must be 1 to %d characters long", maxStateNameLen)
		}
		d.states[name] = v.state(name, raw.States[name], loc)
	}
	v.transitions(d)
	return d
}

// seconds checks an optional integer field; absent, it is def.
func (v *validator) seconds(loc string, p *int64, lo, hi, def int64) int64 {
	if p == nil {
		return def
	}
	if *p < lo || *p > hi {
		v.addf(loc, "must be between %d and %d, got %d", lo, hi, *p)
	}
	return *p
}

func (v *validator) state(name string, raw json.RawMessage, loc string) *State {
	var typ struct{ Type string }
	_ = json.Unmarshal(raw, &typ)
	st := &State{name: name, typ: typ.Type}
	if _, ok := allowedFields[typ.Type]; !ok || !strings.Contains("Task Pass Wait Choice Succeed Fail", typ.Type) {
		v.addf(loc+"/Type", "unsupported state type %q (Task, Pass, Wait, Choice, Succeed, Fail)", typ.Type)
		return st
	}
	var r rawState
	if !v.decode(raw, loc, typ.Type, &r) {
		return st
	}
	st.resultPath = v.resultPath(loc+"/ResultPath", r.ResultPath)
	var selectorToken bool
	st.parameters = v.template(r.Parameters, loc+"/Parameters", &st.usesToken)
	st.resultSelector = v.template(r.ResultSelector, loc+"/ResultSelector", &selectorToken)
	if selectorToken || (st.typ != "Task" && st.usesToken) {
		v.addf(loc, "$$.Task.Token exists only in the Parameters of .waitForTaskToken tasks")
	}
	st.result, _ = DecodeJSON(r.Result)
	st.hasResult = r.Result != nil
	if r.Next != nil { // allowedFields keeps Next and End to Task, Pass and Wait
		st.next = v.target(loc+"/Next", *r.Next)
	}
	if r.End != nil && !*r.End {
		v.addf(loc+"/End", "End must be true when present")
	}
	if strings.Contains("Task Pass Wait", st.typ) && (r.Next != nil) == (r.End != nil) {
		v.addf(loc, "a %s state needs exactly one of Next and \"End\": true", st.typ)
	}
	switch st.typ {
	case "Task":
		v.task(st, &r, loc)
	case "Wait":
		if (r.Seconds != nil) == (r.SecondsPath != nil) {
			v.addf(loc, "a Wait state needs exactly one of Seconds and SecondsPath")
		}
		st.waitSeconds = v.seconds(loc+"/Seconds", r.Seconds, 0, maxSeconds, 0)
		st.secondsPath = v.optPath(loc+"/SecondsPath", r.SecondsPath)
	case "Choice":
		v.choice(st, &r, loc)
	case "Fail":
		if (r.Error != "" && r.ErrorPath != nil) || (r.Cause != "" && r.CausePath != nil) {
			v.addf(loc, "Error and ErrorPath, and Cause and CausePath, are mutually exclusive")
		}
		st.failError, st.failCause = r.Error, r.Cause
		st.errorPath = v.optPath(loc+"/ErrorPath", r.ErrorPath)
		st.causePath = v.optPath(loc+"/CausePath", r.CausePath)
	}
	return st
}

func (v *validator) task(st *State, r *rawState, loc string) {
	t := &Task{}
	st.task = t
	m := resourceRE.FindStringSubmatch(r.Resource)
	switch {
	case strings.Contains(r.Resource, "${"):
		v.addf(loc+"/Resource", "Resource %q still contains a ${...} placeholder: run Substitute first", r.Resource)
	case m == nil:
		v.addf(loc+"/Resource", "unsupported Resource %q: only arn:aws:states:::lambda:invoke and arn:aws:states:::lambda:invoke.waitForTaskToken", r.Resource)
	default:
		t.Callback = m[1] != ""
		v.invokeParameters(t, r.Parameters, loc+"/Parameters")
	}
	if st.usesToken != t.Callback {
		v.addf(loc+"/Parameters", "a .waitForTaskToken task, and only such a task, passes $$.Task.Token in its Parameters")
	}
	t.TimeoutSeconds = v.seconds(loc+"/TimeoutSeconds", r.TimeoutSeconds, 1, maxSeconds, 0)
	st.timeoutPath = v.optPath(loc+"/TimeoutSecondsPath", r.TimeoutSecondsPath)
	if r.TimeoutSeconds != nil && r.TimeoutSecondsPath != nil {
		v.addf(loc, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
	}
	v.retryCatch(st, r, loc)
}

// retryCatch compiles a Task state's Retry and Catch.
func (v *validator) retryCatch(st *State, r *rawState, loc string) {
	for i, raw := range r.Retry {
		rloc := fmt.Sprintf("%s/Retry/%d", loc, i)
		var rr rawRetrier
		if !v.decode(raw, rloc, "Retrier", &rr) {
			continue
		}
		re := &retrier{backoff: 2, jitterFull: rr.JitterStrategy == "FULL",
			errorEquals: v.errorEquals(rloc, rr.ErrorEquals, i == len(r.Retry)-1),
			interval:    v.seconds(rloc+"/IntervalSeconds", rr.IntervalSeconds, 1, maxSeconds, 1),
			maxAttempts: v.seconds(rloc+"/MaxAttempts", rr.MaxAttempts, 0, maxSeconds, 3),
			maxDelay:    v.seconds(rloc+"/MaxDelaySeconds", rr.MaxDelaySeconds, 1, maxDelaySeconds, 0),
		}
		if rr.BackoffRate != nil {
			re.backoff = *rr.BackoffRate
		}
		if re.backoff < 1 {
			v.addf(rloc+"/BackoffRate", "BackoffRate must be a number >= 1.0, got %v", re.backoff)
		}
		if rr.JitterStrategy != "" && rr.JitterStrategy != "FULL" && rr.JitterStrategy != "NONE" {
			v.addf(rloc+"/JitterStrategy", "JitterStrategy must be FULL or NONE, got %q", rr.JitterStrategy)
		}
		st.retry = append(st.retry, re)
	}
	for i, raw := range r.Catch {
		cloc := fmt.Sprintf("%s/Catch/%d", loc, i)
		var rc rawCatcher
		if !v.decode(raw, cloc, "Catcher", &rc) {
			continue
		}
		st.catch = append(st.catch, &catcher{
			errorEquals: v.errorEquals(cloc, rc.ErrorEquals, i == len(r.Catch)-1),
			next:        v.target(cloc+"/Next", rc.Next),
			resultPath:  v.resultPath(cloc+"/ResultPath", rc.ResultPath),
		})
	}
}

// invokeParameters checks the lambda:invoke parameters: a static FunctionName and a Payload.
func (v *validator) invokeParameters(t *Task, raw json.RawMessage, loc string) {
	var params map[string]any
	if raw != nil {
		p, _ := DecodeJSON(raw)
		params, _ = p.(map[string]any)
	}
	for _, key := range slices.Sorted(maps.Keys(params)) {
		if key != "FunctionName" && key != "Payload" && key != "Payload.$" {
			v.addf(loc+"/"+escapePointer(key), "the lambda:invoke parameter %q is not supported (only a static FunctionName and Payload)", key)
		}
	}
	fn, _ := params["FunctionName"].(string)
	switch {
	case fn == "":
		v.addf(loc, "the lambda:invoke integration needs Parameters with a FunctionName string")
	case strings.Contains(fn, "${"):
		v.addf(loc+"/FunctionName", "FunctionName %q still contains a ${...} placeholder: run Substitute first", fn)
	}
	t.Function = fn
}

// errorEquals checks a Retrier's or Catcher's ErrorEquals.
func (v *validator) errorEquals(loc string, names []string, last bool) []string {
	if len(names) == 0 || slices.Contains(names, "") {
		v.addf(loc+"/ErrorEquals", "ErrorEquals must be a non-empty array of non-empty error names")
	}
	if slices.Contains(names, ErrorAll) && (len(names) > 1 || !last) {
		v.addf(loc+"/ErrorEquals", "States.ALL must appear alone, in the last retrier or catcher")
	}
	return names
}

// target reads a transition (Next, Default); transitions checks that the state exists.
func (v *validator) target(loc, name string) string {
	if name == "" {
		v.addf(loc, "must name a state")
	}
	return name
}

// optPath reads an optional path into the state input; only Parameters may read $$.Task.Token.
func (v *validator) optPath(loc string, s *string) *path {
	if s == nil {
		return nil
	}
	p, err := parsePath(*s)
	switch {
	case err != nil:
		v.addf(loc, "%v", err)
	case p.token:
		v.addf(loc, "cannot refer to the context object ($$)")
	}
	return p
}

// resultPath reads a ResultPath: absent means "$", null is allowed.
func (v *validator) resultPath(loc string, raw json.RawMessage) resultPath {
	var s string
	switch {
	case raw == nil:
		return resultPath{}
	case string(raw) == "null":
		return resultPath{null: true}
	case json.Unmarshal(raw, &s) != nil:
		v.addf(loc, "must be a path string or null")
		return resultPath{}
	}
	return resultPath{p: v.optPath(loc, &s)}
}

// transitions verifies StartAt and every transition target, then reports unreachable states.
func (v *validator) transitions(d *Definition) {
	edges := map[string][]string{}
	exists := func(from, loc, name string) {
		if _, ok := d.states[name]; name != "" && !ok {
			v.addf(loc, "no state named %q", name)
		} else if name != "" {
			edges[from] = append(edges[from], name)
		}
	}
	exists("", "/StartAt", d.startAt)
	for _, name := range slices.Sorted(maps.Keys(d.states)) {
		st, loc := d.states[name], "/States/"+escapePointer(name)
		exists(name, loc+"/Next", st.next)
		exists(name, loc+"/Default", st.defaultNext)
		for i, r := range st.choices {
			exists(name, fmt.Sprintf("%s/Choices/%d/Next", loc, i), r.next)
		}
		for i, c := range st.catch {
			exists(name, fmt.Sprintf("%s/Catch/%d/Next", loc, i), c.next)
		}
	}
	if len(edges[""]) == 0 {
		return
	}
	seen := map[string]bool{d.startAt: true}
	for queue := []string{d.startAt}; len(queue) > 0; queue = queue[1:] {
		d.names = append(d.names, queue[0])
		for _, n := range edges[queue[0]] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	var unreachable []string
	for _, name := range slices.Sorted(maps.Keys(d.states)) {
		if !seen[name] {
			unreachable = append(unreachable, fmt.Sprintf("%q", name))
		}
	}
	if len(unreachable) > 0 {
		v.addf("/States", "unreachable from StartAt: %s", strings.Join(unreachable, ", "))
	}
}
