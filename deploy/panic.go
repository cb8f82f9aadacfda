package deploy

import (
	"fmt"
	"runtime/debug"
)

// recovered runs fn and turns a panic in it into an error wrapping
// ErrPanic, kept for the run's Result and logged with its stack, so that
// the rollout still rolls back and exits as a failure a person must look at.
func (e *run) recovered(fn func() error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		stack := string(debug.Stack())
		e.logger().Error("panic", "panic", v, "stack", stack)
		e.mu.Lock()
		if e.panicked == "" {
			e.panicked = fmt.Sprintf("%v\n%s", v, stack)
		}
		e.mu.Unlock()
		e.emit(Event{Type: EventInfo, Status: StatusFail, Error: fmt.Sprintf("panic: %v", v), Evidence: stack})
		err = fmt.Errorf("%w: %v", ErrPanic, v)
	}()
	return fn()
}

// panicOf returns the first panic of the run, "" if none.
func (e *run) panicOf() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.panicked
}
