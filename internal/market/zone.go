package market

import "time"

// Times are stored in UTC; the JSON API and the CLI show them in a display zone
// (Asia/Shanghai by default), RFC 3339 with its offset. These move every timestamp of a
// value into that zone, in place, and turn nil lists into empty ones, as the API answers.

// In moves every timestamp of s into z and returns s.
func (s *Snapshot) In(z *time.Location) *Snapshot {
	s.StartTime = ptrIn(s.StartTime, z)
	s.EndTime = ptrIn(s.EndTime, z)
	s.EstimatedCompletion = ptrIn(s.EstimatedCompletion, z)
	s.CreatedAt = in(s.CreatedAt, z)
	for i := range s.Errors {
		s.Errors[i].Time = in(s.Errors[i].Time, z)
	}
	for i := range s.InFlight {
		s.InFlight[i].StartedAt = in(s.InFlight[i].StartedAt, z)
	}
	if s.Errors == nil {
		s.Errors = []ErrorEntry{}
	}
	if s.InFlight == nil {
		s.InFlight = []InFlight{}
	}
	return s
}

// In moves every timestamp of c into z and returns c.
func (c *Coverage) In(z *time.Location) *Coverage {
	for i := range c.Days {
		c.Days[i].SyncedAt = in(c.Days[i].SyncedAt, z)
	}
	if c.Days == nil {
		c.Days = []CoverageDay{}
	}
	return c
}

// SummariesIn moves every timestamp of items into z and returns them.
func SummariesIn(items []BatchSummary, z *time.Location) []BatchSummary {
	if items == nil {
		return []BatchSummary{}
	}
	for i := range items {
		b := &items[i]
		b.CreatedAt = in(b.CreatedAt, z)
		b.StartTime = ptrIn(b.StartTime, z)
		b.EndTime = ptrIn(b.EndTime, z)
	}
	return items
}

// ErrorsIn moves every timestamp of items into z and returns them.
func ErrorsIn(items []ErrorRecord, z *time.Location) []ErrorRecord {
	if items == nil {
		return []ErrorRecord{}
	}
	for i := range items {
		items[i].Time = in(items[i].Time, z)
	}
	return items
}

func in(t time.Time, z *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(z)
}

func ptrIn(t *time.Time, z *time.Location) *time.Time {
	if t == nil {
		return nil
	}
	v := t.In(z)
	return &v
}
