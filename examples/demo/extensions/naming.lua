-- Builds a login name: first letter of the given name and the surname,
-- lower case, without characters a login cannot hold.
function login(given, surname)
  if given == nil or surname == nil then return nil end
  local name = string.lower(string.sub(given, 1, 1) .. surname)
  return (string.gsub(name, "[^a-z0-9]", ""))
end
