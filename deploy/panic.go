package deploy

import (
	"fmt"
	"runtime/debug"
)

// recovered runs fn and turns a panic in it into an error wrapping
// ErrPanic, recorded in res and logged with its stack, so that the rollout
// still rolls back and exits as a failure a person must look at.
func (e *Engine) recovered(res *Result, fn func() error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		stack := string(debug.Stack())
		e.logger().Error("panic", "panic", v, "stack", stack)
		e.mu.Lock()
		if res.Panic == "" {
			res.Panic = fmt.Sprintf("%v\n%s", v, stack)
		}
		e.mu.Unlock()
		e.emit(Event{Type: EventInfo, Status: StatusFail, Error: fmt.Sprintf("panic: %v", v), Evidence: stack})
		err = fmt.Errorf("%w: %v", ErrPanic, v)
	}()
	return fn()
}
