// Drizzle on a lifeguard pool: drizzle({ client }) takes it as it takes a pg.Pool.
// Run: npm run example drizzle
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { boolean, pgTable, serial, text } from 'drizzle-orm/pg-core';
import { createPgPool } from 'lifeguard';

const pool = createPgPool({ name: 'drizzle', connectionString: process.env.DATABASE_URL, max: 5 });
const db = drizzle({ client: pool });
const todos = pgTable(`example_todos_${process.pid}`, {
  id: serial('id').primaryKey(),
  title: text('title').notNull(),
  done: boolean('done').notNull().default(false),
});

await db.execute(sql`create table ${todos} (id serial primary key, title text not null, done boolean not null default false)`);
try {
  await db.insert(todos).values([{ title: 'write tests' }, { title: 'ship it' }]);
  await db.transaction(async (tx) => {
    await tx.update(todos).set({ done: true }).where(eq(todos.title, 'write tests'));
  });
  const rows = await db.select({ title: todos.title, done: todos.done }).from(todos).orderBy(asc(todos.id));
  console.log('todos:', rows);
  console.log('pool:', { acquired: pool.stats().acquired, active: pool.stats().active });
} finally {
  await db.execute(sql`drop table ${todos}`);
  await pool.end();
}
