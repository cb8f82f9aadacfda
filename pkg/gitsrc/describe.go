package gitsrc

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Commit is a short human description of a commit, for plans and history.
type Commit struct {
	Rev     string    // full 40-hex hash
	Subject string    // first line of the message
	Author  string    // author name
	Email   string    // author email
	Time    time.Time // author time
}

// String returns "<12-hex rev> <subject> (<author>, <time>)".
func (c Commit) String() string {
	return fmt.Sprintf("%s %s (%s, %s)", Short(c.Rev), c.Subject, c.Author, c.Time.Format(time.RFC3339))
}

// Describe returns the subject, author and time of rev (a full commit
// hash, as Resolve returns).
func (s *Source) Describe(ctx context.Context, rev string) (Commit, error) {
	if err := ctx.Err(); err != nil {
		return Commit{}, fmt.Errorf("describe %s: %w", Short(rev), err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, c, err := s.commit(rev)
	if err != nil {
		return Commit{}, fmt.Errorf("describe: %w", err)
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return Commit{
		Rev:     c.Hash.String(),
		Subject: strings.TrimSpace(subject),
		Author:  c.Author.Name,
		Email:   c.Author.Email,
		Time:    c.Author.When,
	}, nil
}
