package asl

// staticEnv is an Env with a fixed context object.
type staticEnv struct{ ctx any }

func (e staticEnv) ContextObject() any { return e.ctx }
