import type { AppRouter } from '@runtrace/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type { AppRouter };
/** Input types of every procedure, e.g. `RouterInputs['runs']['list']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Output types of every procedure, e.g. `RouterOutputs['runs']['list']['items'][number]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
