// Kysely on a lifeguard pool: PostgresDialect takes it as it takes a pg.Pool.
// Run: npm run example kysely
import { Kysely, PostgresDialect, type Generated } from 'kysely';
import { createPgPool } from 'lifeguard';

interface Database {
  [table: string]: { id: Generated<number>; title: string; done: Generated<boolean> };
}

const pool = createPgPool({ name: 'kysely', connectionString: process.env.DATABASE_URL, max: 5 });
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
const todos = `example_todos_${process.pid}`;

await db.schema
  .createTable(todos)
  .addColumn('id', 'serial', (c) => c.primaryKey())
  .addColumn('title', 'text', (c) => c.notNull())
  .addColumn('done', 'boolean', (c) => c.notNull().defaultTo(false))
  .execute();
try {
  await db.insertInto(todos).values([{ title: 'write tests' }, { title: 'ship it' }]).execute();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable(todos).set({ done: true }).where('title', '=', 'write tests').execute();
  });
  const rows = await db.selectFrom(todos).select(['title', 'done']).orderBy('id').execute();
  console.log('todos:', rows);
  console.log('pool:', { acquired: pool.stats().acquired, active: pool.stats().active });
} finally {
  await db.schema.dropTable(todos).execute();
  await db.destroy(); // ends the pool
}
