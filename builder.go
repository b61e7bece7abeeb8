package dynamo

// BatchBuilder builds a Batch step by step; Build validates the result. The
// zero value is not usable: start with NewBatch.
type BatchBuilder struct {
	b Batch
}

// NewBatch starts a batch that runs template, the template's ID. Give "" for
// a batch whose template is embedded with PostBatchWithTemplate.
func NewBatch(template string) *BatchBuilder {
	return &BatchBuilder{b: Batch{Template: template}}
}

// WithIntegration sets the Salesforce session, usually Salesforce(...).
func (bb *BatchBuilder) WithIntegration(in *Integration) *BatchBuilder {
	bb.b.Integration = in
	return bb
}

// AddTask appends tasks built with NewTask; a nil builder is skipped. (Tasks
// already held as Task values go straight into Batch.Tasks.)
func (bb *BatchBuilder) AddTask(tasks ...*TaskBuilder) *BatchBuilder {
	for _, t := range tasks {
		if t != nil {
			bb.b.Tasks = append(bb.b.Tasks, t.Task())
		}
	}
	return bb
}

// AddPart attaches an extra JSON part named name (without "param."); tasks
// receive it through PartParam. Parts need an embedded template.
func (bb *BatchBuilder) AddPart(name string, value any) *BatchBuilder {
	bb.b.Parts = append(bb.b.Parts, Part{Name: name, Value: value})
	return bb
}

// Build returns the batch, or a *ValidationError listing every problem.
func (bb *BatchBuilder) Build() (*Batch, error) {
	b := bb.b
	b.Tasks = append([]Task(nil), bb.b.Tasks...)
	b.Parts = append([]Part(nil), bb.b.Parts...)
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return &b, nil
}

// TaskBuilder builds a Task. Start with NewTask.
type TaskBuilder struct {
	t Task
}

// NewTask starts a task for the Salesforce record id.
func NewTask(id string) *TaskBuilder {
	return &TaskBuilder{t: Task{Params: Params{"id": id}}}
}

// Param sets the parameter key to value, which must be encodable as JSON.
func (tb *TaskBuilder) Param(key string, value any) *TaskBuilder {
	tb.t.Params[key] = value
	return tb
}

// PartParam puts the JSON of the part named partName into the task's params
// under paramName.
func (tb *TaskBuilder) PartParam(partName, paramName string) *TaskBuilder {
	tb.t.PartParams = append(tb.t.PartParams, PartParam{PartName: partName, ParamName: paramName})
	return tb
}

// Task returns a copy of the task built so far.
func (tb *TaskBuilder) Task() Task {
	params := make(Params, len(tb.t.Params))
	for k, v := range tb.t.Params {
		params[k] = v
	}
	return Task{Params: params, PartParams: append([]PartParam(nil), tb.t.PartParams...)}
}
