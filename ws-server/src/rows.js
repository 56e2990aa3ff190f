// metric_records rows as they travel on the wire (contracts/realtime-events.schema.json#/$defs/row).

export const ROW_COLUMNS = [
  'id', 'record_id', 'route', 'total_ram', 'ram_libre', 'uso_ram',
  'porcentaje_ram', 'porcentaje_cpu_uso', 'porcentaje_cpu_libre',
  'procesos_corriendo', 'total_procesos', 'procesos_durmiendo',
  'procesos_zombie', 'procesos_parados', 'hora', 'received_at',
].join(', ');

// The pool returns DECIMAL as numbers and DATETIME as text ('YYYY-MM-DD HH:MM:SS[.mmm]'),
// which already is the wire's `hora`; received_at becomes ISO 8601 UTC with milliseconds.
export function toWireRow(row) {
  return {
    id: Number(row.id),
    record_id: row.record_id,
    route: row.route,
    total_ram: row.total_ram,
    ram_libre: Number(row.ram_libre),
    uso_ram: row.uso_ram,
    porcentaje_ram: row.porcentaje_ram,
    porcentaje_cpu_uso: row.porcentaje_cpu_uso,
    porcentaje_cpu_libre: row.porcentaje_cpu_libre,
    procesos_corriendo: row.procesos_corriendo,
    total_procesos: row.total_procesos,
    procesos_durmiendo: row.procesos_durmiendo,
    procesos_zombie: row.procesos_zombie,
    procesos_parados: row.procesos_parados,
    hora: row.hora,
    received_at: isoUtc(row.received_at),
  };
}

function isoUtc(datetime) {
  const [date, time] = datetime.split(' ');
  const [whole, fraction = ''] = time.split('.');
  return `${date}T${whole}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
}
