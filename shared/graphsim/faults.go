package graphsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/graph"
)

// FaultKind is what an injected fault does.
type FaultKind int

// Fault kinds.
const (
	// FaultGraphError answers Meta's error envelope for Fault.Code before any side effect (HTTP 500 for
	// codes 1 and 2, 400 otherwise).
	FaultGraphError FaultKind = iota + 1
	// FaultTimeout lets the call take effect, then stalls the response until the client gives up: a lost
	// response, the ambiguous case.
	FaultTimeout
	// FaultHTTP500 answers a plain HTTP 500 without an error envelope, before any side effect.
	FaultHTTP500
)

// Fault makes the next Count calls named Call fail.
type Fault struct {
	// Call is a graph.Call* name (oauth, debug_token, phone_numbers, ...).
	Call string
	// Method, when set (GET or POST), limits the fault to requests of that method: subscribed_apps names
	// both the read (GET) and the subscribe (POST), and a lost answer matters only for the write. Calls of
	// the other method pass by without using the fault.
	Method string
	Kind   FaultKind
	// Code is the Graph error code of a FaultGraphError.
	Code int
	// Details, when set, replaces the code's error_data.details (for example the wait a 133008 names).
	// Only programmatic faults have it; GRAPH_SIM_FAULTS cannot set it.
	Details string
	// Count is how many calls fail (at least 1).
	Count int
}

// FaultCalls are the call names a fault can name.
var FaultCalls = []string{
	graph.CallOAuth, graph.CallDebugToken, graph.CallPhoneNumbers, graph.CallSubscribedApps, graph.CallAssignedUsers,
	graph.CallCreditSharing, graph.CallCreditCheck, graph.CallPhoneInfo, graph.CallRegister, graph.CallMessages,
	graph.CallCreditRevoke,
	graph.CallRequestCode, graph.CallVerifyCode, graph.CallSMBAppData,
}

// maxFaultCount bounds a fault's count so a typo cannot break a whole local session for good.
const maxFaultCount = 1_000_000

// ParseFaults parses GRAPH_SIM_FAULTS: a comma-separated list of <call>[.<METHOD>]:<what>x<count>, where
// <what> is a Graph error code, "timeout" or "http500", x<count> may be left out (count 1), and .GET or .POST
// limits the fault to requests of that method. Example:
// "register:133016x1,messages:timeoutx2,subscribed_apps.POST:timeoutx1". An empty string means no faults.
func ParseFaults(s string) ([]Fault, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []Fault
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		f, err := parseFault(entry)
		if err != nil {
			return nil, fmt.Errorf("GRAPH_SIM_FAULTS entry %d (%q): %w", i+1, entry, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func parseFault(entry string) (Fault, error) {
	if entry == "" {
		return Fault{}, fmt.Errorf("empty entry")
	}
	call, spec, ok := strings.Cut(entry, ":")
	if !ok || spec == "" {
		return Fault{}, fmt.Errorf("want <call>:<graph_code|timeout|http500>x<count>")
	}
	call, method, hasMethod := strings.Cut(call, ".")
	if !slices.Contains(FaultCalls, call) {
		return Fault{}, fmt.Errorf("unknown call %q; calls are %s", call, strings.Join(FaultCalls, ", "))
	}
	if hasMethod && method != "GET" && method != "POST" {
		return Fault{}, fmt.Errorf("method after the call must be GET or POST")
	}
	f := Fault{Call: call, Method: method, Count: 1}
	what := spec
	if i := strings.LastIndexByte(spec, 'x'); i >= 0 {
		what = spec[:i]
		n, err := strconv.Atoi(spec[i+1:])
		if err != nil || n < 1 || n > maxFaultCount {
			return Fault{}, fmt.Errorf("count after x must be a whole number from 1 to %d", maxFaultCount)
		}
		f.Count = n
	}
	switch what {
	case "timeout":
		f.Kind = FaultTimeout
	case "http500":
		f.Kind = FaultHTTP500
	default:
		code, err := strconv.Atoi(what)
		if err != nil || code < 1 || code > 999_999_999 || strings.HasPrefix(what, "+") {
			return Fault{}, fmt.Errorf("want a positive Graph error code, timeout or http500 before x<count>")
		}
		f.Kind, f.Code = FaultGraphError, code
	}
	return f, nil
}

// maxLatency bounds GRAPH_SIM_LATENCY_MS: beyond a minute every client call times out anyway.
const maxLatency = time.Minute

// ParseLatencyMS parses GRAPH_SIM_LATENCY_MS: milliseconds added to every call (empty means 0).
func ParseLatencyMS(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || time.Duration(n)*time.Millisecond > maxLatency {
		return 0, fmt.Errorf("GRAPH_SIM_LATENCY_MS must be a whole number of milliseconds from 0 to %d", maxLatency.Milliseconds())
	}
	return time.Duration(n) * time.Millisecond, nil
}
