"""minidl's course tooling: the student edition (`make student`) and grading (`make grade`). See README.md."""
