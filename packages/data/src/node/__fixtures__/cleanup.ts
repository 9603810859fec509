/** Vitest setup of this package: removes the temporary video folders after each test file. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp.js';

afterAll(() => removeTempDirs());
