package handlers

import (
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// specInput is a start request as read from JSON or the form, before validation.
type specInput struct {
	Start    *string
	End      *string
	Datasets []string
	// RequireDataset makes an empty Datasets an error (the form's checkboxes) rather
	// than the default dataset (the API).
	RequireDataset bool
	Force          bool
	Priority       *int
}

// parseSpec validates in field by field, in the form's order, and returns the spec or
// every field's error.
func (s *server) parseSpec(in specInput) (market.Spec, []*fieldError) {
	var spec market.Spec
	var errs []*fieldError
	start, okStart := s.parseDay(views.FieldStart, in.Start, &errs)
	end, okEnd := s.parseDay(views.FieldEnd, in.End, &errs)
	if okStart && okEnd {
		if err := s.cal.CheckRange(start, end); err != nil {
			errs = append(errs, &fieldError{Field: views.FieldEnd, Key: catalogKey(err), Err: err})
		}
	}
	spec.Start, spec.End = start, end

	if len(in.Datasets) == 0 && in.RequireDataset {
		errs = append(errs, &fieldError{Field: views.FieldDatasets, Key: "err.dataset_required",
			Err: fmt.Errorf("%w: choose at least one dataset", market.ErrUnknownDataset)})
	} else if ds, err := market.NormalizeDatasets(in.Datasets); err != nil {
		errs = append(errs, &fieldError{Field: views.FieldDatasets, Key: "err.dataset_unknown", Err: err})
	} else {
		spec.Datasets = ds
	}

	spec.Priority = market.PriorityDefault
	if in.Priority != nil {
		if err := market.CheckPriority(*in.Priority); err != nil {
			errs = append(errs, &fieldError{Field: views.FieldPriority, Key: "err.priority", Err: err})
		} else {
			spec.Priority = *in.Priority
		}
	}
	spec.Force = in.Force
	return spec, errs
}

// parseDay reads one date field: present, an ISO date, inside the calendar.
func (s *server) parseDay(field string, v *string, errs *[]*fieldError) (time.Time, bool) {
	if v == nil || *v == "" {
		*errs = append(*errs, &fieldError{Field: field, Key: "err.date_required",
			Err: fmt.Errorf("%w: a date in the form YYYY-MM-DD is required", market.ErrInvalidDate)})
		return time.Time{}, false
	}
	d, err := market.ParseDate(*v)
	if err == nil {
		err = s.cal.Check(d)
	}
	if err != nil {
		*errs = append(*errs, &fieldError{Field: field, Key: catalogKey(err), Err: err})
		return time.Time{}, false
	}
	return d, true
}
