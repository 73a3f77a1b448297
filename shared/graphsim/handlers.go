package graphsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

type handler func(s *Server, q *request) *result

// endpoint is a call name and its handlers by method.
type endpoint struct {
	call     string
	handlers map[string]handler
}

// pick returns the call name and the handler of method (unsupportedMethod when there is none).
func (e endpoint) pick(method string) (string, handler) {
	if h := e.handlers[method]; h != nil {
		return e.call, h
	}
	return e.call, unsupportedMethod
}

// fixedPaths are the endpoints without an id in their path.
var fixedPaths = map[string]endpoint{
	"oauth/access_token": {graph.CallOAuth, map[string]handler{http.MethodGet: (*Server).exchange, http.MethodPost: (*Server).exchange}},
	"debug_token":        {graph.CallDebugToken, map[string]handler{http.MethodGet: authed((*Server).debugToken)}},
}

// edges maps an edge name (/<id>/<edge>) to its endpoint.
var edges = map[string]endpoint{
	"phone_numbers":                      {graph.CallPhoneNumbers, map[string]handler{http.MethodGet: onWABA((*Server).phoneNumbers)}},
	"subscribed_apps":                    {graph.CallSubscribedApps, map[string]handler{http.MethodGet: onWABA((*Server).listSubscribedApps), http.MethodPost: onWABA((*Server).subscribeApp), http.MethodDelete: onWABA((*Server).unsubscribeApp)}},
	"assigned_users":                     {graph.CallAssignedUsers, map[string]handler{http.MethodPost: authed((*Server).assignUser)}},
	"whatsapp_credit_sharing_and_attach": {graph.CallCreditSharing, map[string]handler{http.MethodPost: onCreditLine((*Server).shareCredit)}},
	"owning_credit_allocation_configs":   {graph.CallCreditCheck, map[string]handler{http.MethodGet: onCreditLine((*Server).listAllocations)}},
	"register":                           {graph.CallRegister, map[string]handler{http.MethodPost: onPhone((*Server).register)}},
	"messages":                           {graph.CallMessages, map[string]handler{http.MethodPost: onPhone((*Server).sendMessage)}},
	"request_code":                       {graph.CallRequestCode, map[string]handler{http.MethodPost: onPhone((*Server).requestCode)}},
	"verify_code":                        {graph.CallVerifyCode, map[string]handler{http.MethodPost: onPhone((*Server).verifyCode)}},
	"smb_app_data":                       {graph.CallSMBAppData, map[string]handler{http.MethodPost: onPhone((*Server).smbAppData)}},
}

// authed wraps a handler that needs a valid access token (error 104 or 190 otherwise).
func authed(h func(s *Server, q *request, p principal) *result) handler {
	return func(s *Server, q *request) *result {
		p, errRes := s.auth(q)
		if errRes != nil {
			return errRes
		}
		return h(s, q, p)
	}
}

// onWABA wraps a handler of /<WABA_ID>/<edge>: the token must reach the WABA.
func onWABA(h func(s *Server, q *request, w *wabaRec) *result) handler {
	return authed(func(s *Server, q *request, p principal) *result {
		w, errRes := s.wabaFor(p, q.segs[0], q.method)
		if errRes != nil {
			return errRes
		}
		return h(s, q, w)
	})
}

// onPhone wraps a handler of /<PHONE_NUMBER_ID>/<edge>: the token must reach the number.
func onPhone(h func(s *Server, q *request, ph *phoneRec) *result) handler {
	return authed(func(s *Server, q *request, p principal) *result {
		ph, errRes := s.phoneFor(p, q.segs[0], q.method)
		if errRes != nil {
			return errRes
		}
		return h(s, q, ph)
	})
}

// onCreditLine wraps a handler of /<CREDIT_LINE_ID>/<edge>: only the system token sees the partner's credit
// line; anything else is an unsupported request, as at Meta.
func onCreditLine(h func(s *Server, q *request, line string) *result) handler {
	return authed(func(s *Server, q *request, p principal) *result {
		line := q.segs[0]
		if p.kind != kindSystem || line != s.cfg.CreditLineID {
			return s.unsupported(q.method, line)
		}
		return h(s, q, line)
	})
}

// success is Meta's {"success":true}, counted as an effect of call.
func success(call string) *result {
	return &result{status: http.StatusOK, body: map[string]any{"success": true}, effect: call}
}

// route names the call of a request and picks its handler. Callers hold s.mu (an object read is named by
// the kind of object).
func (s *Server) route(q *request) (string, handler) {
	segs := q.segs
	if e, ok := fixedPaths[strings.Join(segs, "/")]; ok {
		return e.pick(q.method)
	}
	switch {
	case len(segs) == 1 && isID(segs[0]) && q.method == http.MethodDelete:
		return graph.CallCreditRevoke, authed((*Server).revokeAllocation)
	case len(segs) == 1 && isID(segs[0]):
		return endpoint{s.objectCall(segs[0], q.param("fields")), objectHandlers}.pick(q.method)
	case len(segs) == 2 && isID(segs[0]):
		if e, ok := edges[segs[1]]; ok {
			return e.pick(q.method)
		}
	}
	return "", func(s *Server, q *request) *result {
		return s.gerr(2500, withMessage("Unknown path components: "+safePath(q.path)))
	}
}

// objectHandlers serve /<id>: reads only.
var objectHandlers = map[string]handler{http.MethodGet: authed((*Server).getObject)}

// objectCall names a read of /<id>: phone_info for numbers, credit_check for the rest.
func (s *Server) objectCall(id, fields string) string {
	if s.phones[id] != nil {
		return graph.CallPhoneInfo
	}
	if s.wabas[id] != nil || s.allocations[id] != nil || id == s.cfg.CreditLineID {
		return graph.CallCreditCheck
	}
	if strings.Contains(fields, "platform_type") || strings.Contains(fields, "display_phone_number") {
		return graph.CallPhoneInfo
	}
	return graph.CallCreditCheck
}

func unsupportedMethod(s *Server, q *request) *result { return s.unsupported(q.method, q.segs[0]) }

// --- oauth and debug_token ---

func (s *Server) exchange(q *request) *result {
	clientID, secret, code := q.param("client_id"), q.param("client_secret"), q.param("code")
	// A code not issued through IssueCode counts as issued when first seen, even by a request refused for
	// another reason: its 30 seconds started at Meta when the popup issued it, not at a successful exchange.
	var rec *codeRec
	if code != "" && len(code) <= 2048 && !strings.ContainsAny(code, " \t\r\n") && !strings.HasPrefix(code, "expired") {
		rec = s.codes[code]
		if rec == nil {
			if waba, phone, valid := parseSimCode(code); valid {
				rec = &codeRec{Issued: q.now, WABA: waba, PhoneID: phone}
				s.codes[code] = rec
			}
		}
	}
	switch {
	case clientID == "":
		return s.gerr(101, withMessage("Missing client_id parameter."))
	case clientID != s.cfg.AppID:
		return s.gerr(101)
	case secret != s.cfg.AppSecret.Reveal():
		// Meta answers a wrong secret with code 1, the code of "unknown error": faithful, if unfortunate.
		return s.gerr(1, withMessage("Error validating client secret."))
	case code == "":
		return s.gerr(100, withMessage("Missing authorization code parameter."))
	case strings.HasPrefix(code, "expired"):
		return s.codeExpired()
	case rec == nil:
		return s.gerr(100, withMessage("Invalid verification code format."))
	case rec.Used:
		return s.gerr(100, withSubcode(36009), withMessage("This authorization code has been used."))
	case q.now.Sub(rec.Issued) > s.cfg.CodeTTL:
		return s.codeExpired()
	case !isID(rec.WABA) || (rec.PhoneID != "" && !isID(rec.PhoneID)):
		return s.gerr(100, withMessage("Invalid verification code format."))
	}
	rec.Used = true
	tok := s.grant(rec.WABA, rec.PhoneID, q.now)
	answer := map[string]any{"access_token": tok, "token_type": "bearer"}
	if expiringNonce(code) {
		s.tokens[tok].Expires = q.now.Add(ExpiringTokenLifetime)
		answer["expires_in"] = int(ExpiringTokenLifetime / time.Second)
	}
	return ok(answer)
}

func (s *Server) codeExpired() *result {
	return s.gerr(100, withSubcode(36007), withMessage("This authorization code has expired."))
}

// expiringNonce reports whether code is sim:<waba_id>:<phone_number_id>:<nonce> with a nonce starting with
// "expiring": its token ends ExpiringTokenLifetime after the exchange.
func expiringNonce(code string) bool {
	parts := strings.SplitN(code, ":", 4)
	return len(parts) == 4 && parts[0] == "sim" && strings.HasPrefix(parts[3], "expiring")
}

// parseSimCode reads sim:<waba_id>:<phone_number_id>:<nonce>; any other code grants the documents' ids.
func parseSimCode(code string) (waba, phone string, ok bool) {
	if !strings.HasPrefix(code, "sim:") {
		return DefaultWABAID, DefaultPhoneNumberID, true
	}
	parts := strings.SplitN(code, ":", 4)
	if len(parts) != 4 || !isID(parts[1]) || (parts[2] != "" && !isID(parts[2])) {
		return "", "", false
	}
	return parts[1], parts[2], true
}

var (
	whatsappScopes = []string{"whatsapp_business_management", "whatsapp_business_messaging"}
	allScopes      = []string{"whatsapp_business_management", "whatsapp_business_messaging", "business_management", "public_profile"}
)

func (s *Server) debugToken(q *request, p principal) *result {
	if p.kind != kindApp && p.kind != kindSystem {
		return s.gerr(190, withMessage("Invalid OAuth access token - debug_token needs an app token or a system user token"))
	}
	in := q.param("input_token")
	if in == "" {
		return s.invalidParam("The parameter input_token is required", false)
	}
	data := map[string]any{"app_id": s.cfg.AppID, "application": s.cfg.AppName}
	switch t := s.tokens[in]; {
	case in == s.cfg.SystemToken.Reveal():
		ids := slices.Sorted(maps.Keys(s.wabas))
		data["type"], data["is_valid"], data["expires_at"], data["user_id"] = "SYSTEM_USER", true, 0, s.cfg.SystemUserID
		data["data_access_expires_at"] = 0
		data["scopes"] = allScopes
		data["granular_scopes"] = granular(ids)
	case in == s.cfg.AppID+"|"+s.cfg.AppSecret.Reveal():
		data["type"], data["is_valid"] = "APP", true
	case t != nil && !t.Revoked && t.expired(q.now):
		data["type"], data["is_valid"], data["expires_at"], data["user_id"], data["scopes"] = "SYSTEM_USER", false, t.Expires.Unix(), t.UserID, []string{}
		data["error"] = map[string]any{"code": 190, "subcode": 463, "message": "Error validating access token: Session has expired."}
	case t != nil && !t.Revoked:
		data["type"], data["is_valid"], data["expires_at"], data["user_id"] = "SYSTEM_USER", true, 0, t.UserID
		if !t.Expires.IsZero() {
			data["expires_at"] = t.Expires.Unix()
		}
		data["data_access_expires_at"] = t.Issued.Add(90 * 24 * time.Hour).Unix()
		data["scopes"] = allScopes
		data["granular_scopes"] = granular([]string{t.WABA})
	case t != nil:
		data["type"], data["is_valid"], data["user_id"], data["scopes"] = "SYSTEM_USER", false, t.UserID, []string{}
		data["error"] = map[string]any{"code": 190, "subcode": 460, "message": "Error validating access token: The session has been invalidated."}
	default:
		data["is_valid"], data["scopes"] = false, []string{}
		data["error"] = map[string]any{"code": 190, "message": "Invalid OAuth access token."}
	}
	return ok(map[string]any{"data": data})
}

func granular(wabaIDs []string) []map[string]any {
	out := make([]map[string]any, 0, len(whatsappScopes))
	for _, sc := range whatsappScopes {
		out = append(out, map[string]any{"scope": sc, "target_ids": append([]string{}, wabaIDs...)})
	}
	return out
}

// --- objects and lists ---

var braces = regexp.MustCompile(`\{[^}]*\}`)

// selectFields answers a fields= request like Meta: id always, the asked (or default) fields that have a
// value, error 100 for a field the node does not have.
func (s *Server) selectFields(q *request, all map[string]any, defaults []string, node string) (map[string]any, *result) {
	names := defaults
	if f := q.param("fields"); f != "" {
		names = strings.Split(braces.ReplaceAllString(f, ""), ",")
	}
	out := map[string]any{"id": all["id"]}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		v, known := all[n]
		if !known {
			return nil, s.invalidParam("Tried accessing nonexisting field ("+safeField(n)+") on node type ("+node+")", false)
		}
		if v != nil {
			out[n] = v
		}
	}
	return out, nil
}

func safeField(n string) string {
	if len(n) > 64 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz_0123456789") != "" {
		return "?"
	}
	return n
}

func (p *phoneRec) fields() map[string]any {
	return map[string]any{
		"id": p.ID, "display_phone_number": p.Display, "verified_name": p.VerifiedName,
		"platform_type": p.Platform, "status": p.Status, "code_verification_status": p.CodeVerification,
		"is_on_biz_app": p.BizApp, "quality_rating": p.Quality, "name_status": "APPROVED",
		"throughput": map[string]any{"level": "STANDARD"},
	}
}

var phoneDefaults = []string{"display_phone_number", "verified_name", "code_verification_status", "quality_rating", "platform_type"}

const (
	phoneNode      = "WhatsAppBusinessPhoneNumber"
	allocationNode = "ExtendedCreditAllocationConfig"
)

// object answers a read of one node with the fields asked for.
func (s *Server) object(q *request, all map[string]any, defaults []string, node string) *result {
	out, errRes := s.selectFields(q, all, defaults, node)
	if errRes != nil {
		return errRes
	}
	return ok(out)
}

// listOf answers a list of nodes: each with the fields asked for, paginated.
func (s *Server) listOf(q *request, nodes []map[string]any, defaults []string, node string) *result {
	items := make([]map[string]any, 0, len(nodes))
	for _, all := range nodes {
		out, errRes := s.selectFields(q, all, defaults, node)
		if errRes != nil {
			return errRes
		}
		items = append(items, out)
	}
	return s.paginate(q, items)
}

func (s *Server) getObject(q *request, p principal) *result {
	id := q.segs[0]
	switch {
	case s.phones[id] != nil:
		ph, errRes := s.phoneFor(p, id, q.method)
		if errRes != nil {
			return errRes
		}
		return s.object(q, ph.fields(), phoneDefaults, phoneNode)
	case s.wabas[id] != nil:
		w, errRes := s.wabaFor(p, id, q.method)
		if errRes != nil {
			return errRes
		}
		all := map[string]any{"id": w.ID, "name": w.Name, "currency": w.Currency, "primary_funding_id": nil,
			"timezone_id": "1", "message_template_namespace": "sim_" + w.ID, "account_review_status": "APPROVED",
			"owner_business_info": map[string]any{"id": w.Owner, "name": "Sim Customer " + last4(w.Owner)}}
		if w.FundingID != "" {
			all["primary_funding_id"] = w.FundingID
		}
		return s.object(q, all, []string{"name"}, "WhatsAppBusinessAccount")
	case s.allocations[id] != nil && p.kind == kindSystem:
		return s.object(q, s.allocations[id].fields(), nil, allocationNode)
	case id == s.cfg.CreditLineID && p.kind == kindSystem:
		return s.object(q, map[string]any{"id": id, "legal_entity_name": "Simulated Solution Partner"}, nil, "ExtendedCredit")
	}
	return s.unsupported(q.method, id)
}

func (a *allocationRec) fields() map[string]any {
	m := map[string]any{"id": a.ID, "receiving_credential": map[string]any{"id": a.Credential},
		"receiving_business": map[string]any{"id": a.Business, "name": "Sim Customer " + last4(a.Business)}}
	if a.Deleted {
		m["request_status"] = "DELETED"
	}
	return m
}

// paginate answers a list like Meta: data, cursors and, when more remain, a next link that (as at Meta)
// repeats the access token in its query.
func (s *Server) paginate(q *request, items []map[string]any) *result {
	limit := s.cfg.PageSize
	if l, err := strconv.Atoi(q.param("limit")); err == nil && l > 0 && l <= 1000 {
		limit = l
	}
	start := 0
	if a := q.param("after"); a != "" {
		n, valid := parseCursor(a)
		if !valid {
			return s.invalidParam("Invalid cursor", false)
		}
		start = n + 1
	}
	start = min(start, len(items))
	end := min(start+limit, len(items))
	body := map[string]any{"data": append([]map[string]any{}, items[start:end]...)}
	if end > start {
		paging := map[string]any{"cursors": map[string]any{"before": cursor(start), "after": cursor(end - 1)}}
		if end < len(items) {
			v := url.Values{"access_token": {q.token}, "limit": {strconv.Itoa(limit)}, "after": {cursor(end - 1)}}
			if f := q.param("fields"); f != "" {
				v.Set("fields", f)
			}
			paging["next"] = q.scheme + "://" + q.host + q.path + "?" + v.Encode()
		}
		body["paging"] = paging
	}
	return ok(body)
}

func (s *Server) phoneNumbers(q *request, w *wabaRec) *result {
	nodes := make([]map[string]any, 0, len(w.Phones))
	for _, id := range w.Phones {
		nodes = append(nodes, s.phones[id].fields())
	}
	return s.listOf(q, nodes, phoneDefaults, phoneNode)
}

func (s *Server) listAllocations(q *request, line string) *result {
	// As at Meta, receiving_business_id limits the list to the allocations shared with that business.
	business := q.param("receiving_business_id")
	var allocs []*allocationRec
	for _, a := range s.allocations {
		if a.Line == line && !a.Deleted && (business == "" || a.Business == business) {
			allocs = append(allocs, a)
		}
	}
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].Seq < allocs[j].Seq })
	nodes := make([]map[string]any, 0, len(allocs))
	for _, a := range allocs {
		nodes = append(nodes, a.fields())
	}
	return s.listOf(q, nodes, nil, allocationNode)
}

// --- subscribed_apps ---

func (s *Server) listSubscribedApps(q *request, w *wabaRec) *result {
	data := []map[string]any{}
	if w.Subscribed {
		e := map[string]any{"whatsapp_business_api_data": map[string]any{
			"id": s.cfg.AppID, "link": "https://www.facebook.com/games/?app_id=" + s.cfg.AppID, "name": s.cfg.AppName}}
		if w.Override != "" {
			e["override_callback_uri"] = w.Override
		}
		data = append(data, e)
	}
	return ok(map[string]any{"data": data})
}

// bodyParams reads a JSON object body (Meta also takes form and query parameters). A body that is not a
// JSON object is error 100.
func (s *Server) bodyParams(q *request, whatsapp bool) (map[string]any, *result) {
	m := map[string]any{}
	if q.form || len(strings.TrimSpace(string(q.body))) == 0 {
		return m, nil // no body, or a form body already merged into the query
	}
	if err := json.Unmarshal(q.body, &m); err != nil {
		return nil, s.invalidParam("The request body must be a JSON object", whatsapp)
	}
	return m, nil
}

func (s *Server) subscribeApp(q *request, w *wabaRec) *result {
	m, errRes := s.bodyParams(q, false)
	if errRes != nil {
		return errRes
	}
	override, verify := stringParam(m, q, "override_callback_uri"), stringParam(m, q, "verify_token")
	if override == "" && verify == "" {
		w.Subscribed = true
		return success(graph.CallSubscribedApps)
	}
	if !w.Subscribed {
		return s.gerr(100, withMessage("(#100) Invalid parameter"), withUser("App not subscribed",
			"Subscribe the app to this WhatsApp Business Account before setting override_callback_uri."))
	}
	if verify == "" {
		return s.invalidParam("The parameter verify_token is required with override_callback_uri", false)
	}
	if u, err := url.Parse(override); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s.invalidParam("Param override_callback_uri must be a valid URL", false)
	}
	w.Override = override
	return success(graph.CallSubscribedApps)
}

func (s *Server) unsubscribeApp(q *request, w *wabaRec) *result {
	w.Subscribed, w.Override = false, ""
	return ok(map[string]any{"success": true})
}

// stringParam takes a parameter from the JSON body, else from the query or form.
func stringParam(m map[string]any, q *request, name string) string {
	if v, ok := m[name].(string); ok {
		return v
	}
	return q.param(name)
}

// --- assigned_users and credit ---

var validTasks = map[string]bool{
	"MANAGE": true, "DEVELOP": true, "MANAGE_TEMPLATES": true, "MANAGE_PHONE": true, "VIEW_COST": true,
	"MANAGE_EXTENSIONS": true, "VIEW_PHONE_ASSETS": true, "MANAGE_PHONE_ASSETS": true, "VIEW_TEMPLATES": true,
	"MESSAGING": true, "VIEW_INSIGHTS": true,
}

func parseTasks(s string) ([]string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.Trim(strings.TrimSpace(t), `'"`)
		if !validTasks[t] {
			return nil, false
		}
		out = append(out, t)
	}
	return out, len(out) > 0
}

func (s *Server) assignUser(q *request, p principal) *result {
	if p.kind != kindSystem {
		return s.gerr(200, withUser("Permissions error", "Assign users to this WhatsApp Business Account with the partner's system user token."))
	}
	w, errRes := s.wabaFor(p, q.segs[0], q.method)
	if errRes != nil {
		return errRes
	}
	user := q.param("user")
	if !isID(user) {
		return s.invalidParam("Param user must be a valid user ID", false)
	}
	tasks, valid := parseTasks(q.param("tasks"))
	if !valid {
		return s.invalidParam("Param tasks must be a list of valid tasks, for example ['MANAGE']", false)
	}
	if _, dup := w.Assigned[user]; dup {
		return s.gerr(100, withMessage("(#100) The user is already assigned to this WhatsApp Business Account."))
	}
	w.Assigned[user] = tasks
	return success(graph.CallAssignedUsers)
}

func (s *Server) shareCredit(q *request, line string) *result {
	currency := q.param("waba_currency")
	if !onboarding.ValidCurrency(currency) {
		return s.invalidParam("Param waba_currency must be one of {"+strings.Join(onboarding.Currencies, ", ")+"}", false)
	}
	w := s.wabas[q.param("waba_id")]
	if w == nil {
		return s.invalidParam("Param waba_id must be a valid WhatsApp Business Account ID", false)
	}
	if _, assigned := w.Assigned[s.cfg.SystemUserID]; !assigned {
		return s.gerr(200, withUser("Permissions error",
			"Add your system user to the WhatsApp Business Account (assigned_users) before sharing the credit line."))
	}
	if w.Allocation != "" {
		return s.gerr(100, withMessage("(#100) A credit line is already attached to this WhatsApp Business Account; "+
			"it cannot be changed once attached."))
	}
	a := &allocationRec{ID: s.newID("5850144"), Line: line, WABA: w.ID, Credential: s.newID("7710023"), Seq: s.seq, Business: w.Owner}
	s.allocations[a.ID] = a
	w.Allocation, w.FundingID, w.Currency = a.ID, a.Credential, currency
	return &result{status: http.StatusOK, body: map[string]any{"allocation_config_id": a.ID, "waba_id": w.ID},
		effect: graph.CallCreditSharing}
}

// revokeAllocation is DELETE /<ALLOCATION_CONFIG_ID> (system token): Meta answers {"success": true} and the
// allocation then reads request_status DELETED. The WABA is no longer funded by it and may be shared again.
// Meta does not say what a second DELETE answers; the simulator answers success again.
func (s *Server) revokeAllocation(q *request, p principal) *result {
	a := s.allocations[q.segs[0]]
	if a == nil || p.kind != kindSystem {
		return s.unsupported(q.method, q.segs[0])
	}
	if !a.Deleted {
		a.Deleted = true
		if w := s.wabas[a.WABA]; w != nil && w.Allocation == a.ID {
			w.Allocation, w.FundingID = "", ""
		}
	}
	return success(graph.CallCreditRevoke)
}

// --- register and messages ---

func (s *Server) register(q *request, ph *phoneRec) *result {
	var body struct {
		MessagingProduct       any `json:"messaging_product"`
		PIN                    any `json:"pin"`
		DataLocalizationRegion any `json:"data_localization_region"`
	}
	if json.Unmarshal(q.body, &body) != nil {
		return s.invalidParam("The request body must be a JSON object with messaging_product and pin", true)
	}
	if mp, _ := body.MessagingProduct.(string); mp != "whatsapp" {
		return s.invalidParam("Param messaging_product must be whatsapp", true)
	}
	pin, _ := body.PIN.(string)
	if !onboarding.ValidPIN(pin) {
		return s.invalidParam("Param pin must be a 6-digit number", true)
	}
	region, _ := body.DataLocalizationRegion.(string)
	if body.DataLocalizationRegion != nil && !onboarding.ValidDataLocalizationRegion(region) {
		// Meta lists the accepted codes but not its error for another one: 100, as for other bad parameters.
		return s.invalidParam("Param data_localization_region must be one of "+strings.Join(onboarding.DataLocalizationRegions, ", "), true)
	}
	now := q.now
	if now.Before(ph.BlockedUntil) {
		return s.gerr(133016)
	}
	if ph.CodeVerification == CodeNotVerified || ph.CodeVerification == CodeExpired {
		return s.gerr(graph.CodePhoneNotVerified)
	}
	ph.RegisterCalls = recent(ph.RegisterCalls, now)
	if len(ph.RegisterCalls) >= RegisterLimit {
		ph.BlockedUntil = now.Add(RegisterWindow)
		return s.gerr(133016)
	}
	ph.RegisterCalls = append(ph.RegisterCalls, now)
	if ph.PIN != "" && ph.PIN != pin {
		return s.gerr(133005)
	}
	wasRegistered := ph.registered()
	ph.PIN, ph.Platform, ph.Status = pin, PlatformCloudAPI, StatusConnected
	if region != "" {
		ph.Region = region
	}
	if ph.Quality == "UNKNOWN" {
		ph.Quality = "GREEN"
	}
	res := success(graph.CallRegister)
	if !wasRegistered {
		// The simulated tester greets each newly registered number, opening the 24-hour window.
		waba, id, display := ph.WABA, ph.ID, ph.Display
		from, _ := digits(s.cfg.TesterNumber)
		ph.Windows[from] = now
		ph.Windows[UserID(from)] = now
		msgID := newWAMID()
		res.notify = append(res.notify,
			func(o Observer) { o.PhoneRegistered(waba, id, display) },
			func(o Observer) { o.InboundMessage(waba, id, from, msgID, TesterText, now) })
	}
	return res
}

// contact is the contacts[] entry of a send answer: wa_id for a phone recipient, user_id for a BSUID one.
func contact(input, to string) map[string]any {
	if onboarding.ValidBSUID(to) {
		return map[string]any{"input": input, "user_id": to}
	}
	return map[string]any{"input": input, "wa_id": to}
}

func (s *Server) sendMessage(q *request, ph *phoneRec) *result {
	var body struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Recipient        string `json:"recipient"`
		Type             string `json:"type"`
		Text             *struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	if json.Unmarshal(q.body, &body) != nil {
		return s.invalidParam("The request body must be a JSON object", true)
	}
	if body.MessagingProduct != "whatsapp" {
		return s.invalidParam("Param messaging_product must be whatsapp", true)
	}
	// As at Meta, to or recipient (a business-scoped user id) names the user; with both, to wins.
	to, valid := digits(body.To)
	input := body.To
	switch {
	case body.To == "" && body.Recipient != "":
		if !onboarding.ValidBSUID(body.Recipient) {
			return s.invalidParam("Param recipient must be a valid business-scoped user ID", true)
		}
		to, valid, input = body.Recipient, true, body.Recipient
	case !valid:
		return s.invalidParam("Param to must be a valid phone number", true)
	}
	if body.Type != "" && body.Type != "text" {
		return s.invalidParam("Param type must be text (the simulator sends text messages only)", true)
	}
	if body.Text == nil || body.Text.Body == "" {
		return s.invalidParam("Param text['body'] is required", true)
	}
	if utf8.RuneCountInString(body.Text.Body) > MaxTextBody {
		return s.invalidParam("Param text['body'] must be at most 4096 characters long", true)
	}
	if !ph.registered() {
		return s.gerr(133010)
	}
	if last, seen := ph.Windows[to]; !seen || q.now.Sub(last) > ServiceWindow {
		return s.gerr(131047)
	}
	id, waba, phoneID, now := newWAMID(), ph.WABA, ph.ID, q.now
	return &result{status: http.StatusOK, effect: graph.CallMessages,
		body: map[string]any{
			"messaging_product": "whatsapp",
			"contacts":          []map[string]any{contact(input, to)},
			"messages":          []map[string]any{{"id": id}},
		},
		notify: []func(Observer){func(o Observer) { o.MessageSent(waba, phoneID, to, id, now) }}}
}
