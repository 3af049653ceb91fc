/** Imported first by the Lambda entry point, so the job's module loads knowing it is inside a task (see in-task.ts). */
import { markInTask } from '../in-task.js';

markInTask();
