/** Issue 8, section 1: churn at the memory limit with 2 workers (test/lib/churn-at-the-limit.ts). */
import { churnAtTheLimit } from './lib/churn-at-the-limit.js';

churnAtTheLimit(2);
